package org.presence.gateway.updates;

/** A started update connection's delivery, as another protocol's session drives it. */
public interface UpdateFeed {
  /** Writes what there is while the connection is writable (after it drained). Event loop. */
  void pump();

  /** The connection is gone: stops delivering. Any thread. */
  void close();
}
