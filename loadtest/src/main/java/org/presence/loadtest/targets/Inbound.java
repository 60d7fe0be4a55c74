package org.presence.loadtest.targets;

import io.netty.buffer.ByteBuf;

/**
 * Where a virtual device or app hands what the server pushes: frames other than replies to its own
 * requests (app updates, live notifications, relayed frames), and the end of the connection. Called
 * on the connection's event loop.
 */
public interface Inbound {
  /** A pushed text frame; {@code utf8} is only valid during the call and must not be released. */
  void frame(ByteBuf utf8);

  /**
   * The connection closed. {@code byServer} is true when the server closed it; {@code reason} then
   * carries its error if it sent one ({@code errno N}) or its close code ({@code close N}).
   */
  void closed(boolean byServer, String reason);
}
