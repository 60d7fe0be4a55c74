package org.presence.gateway.updates;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import org.presence.protocol.error.ErrorCode;

/**
 * Where an application's update connection writes: a WebSocket, a stream, or another protocol's
 * session (XMPP). All methods are called on the connection's event loop.
 */
public interface UpdateSink {
  EventExecutor executor();

  ByteBufAllocator alloc();

  /** Whether the connection takes more writes now. */
  boolean writable();

  /** Writes one frame as {@link UpdateFormat} made it (ownership passes); not flushed. */
  void send(ByteBuf frame);

  void flush();

  /** Ends the connection with {@code code}. */
  void fail(ErrorCode code, String detail);

  /** Bytes written to the connection and not yet sent (its outbound buffer). */
  long pendingBytes();

  /**
   * The last frame of a snapshot was written and flushed: what the connection held back while the
   * snapshot was read (the update channel's answers to the application's frames) may follow now.
   */
  default void snapshotWritten() {}
}
