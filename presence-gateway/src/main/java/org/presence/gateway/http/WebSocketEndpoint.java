package org.presence.gateway.http;

import io.netty.channel.ChannelPipeline;
import org.presence.gateway.connection.Connections;

/**
 * A WebSocket route: the router upgrades the connection and asks the endpoint to add its handlers
 * (codec, session) after the {@code ws-protocol} handler.
 */
public interface WebSocketEndpoint {
  /** The kind of connection this endpoint makes, for metrics and draining. */
  Connections.Kind kind();

  /**
   * Adds this endpoint's handlers to {@code pipeline}, after {@code ws-protocol} and before {@code
   * exception}. Runs on the event loop, before the handshake answer is sent.
   *
   * @param upgrade the upgrade request, for path parameters and headers; its body is empty
   */
  void install(ChannelPipeline pipeline, HttpExchange upgrade);

  /**
   * The WebSocket subprotocol(s) this endpoint speaks (comma-separated), echoed in the handshake
   * when the client asks for one, or {@code null} for none.
   */
  default String subprotocols() {
    return null;
  }

  /**
   * Whether a handshake must offer one of {@link #subprotocols} ({@code Sec-WebSocket-Protocol}):
   * one that does not is refused with {@code BAD_REQUEST} (400) before the upgrade. Otherwise a
   * handshake without it is served, without the header in the answer.
   */
  default boolean requiresSubprotocol() {
    return false;
  }

  /**
   * How a connection of this endpoint ends when the node drains, or {@code null} for the router's
   * own (a close frame with {@code SERVER_SHUTTING_DOWN}).
   */
  default java.util.function.Consumer<io.netty.channel.Channel> onDrain() {
    return null;
  }

  /**
   * Whether the endpoint's handlers see the client's pong frames (to time keepalives); otherwise
   * {@code ws-protocol} drops them.
   */
  default boolean receivesPongs() {
    return false;
  }

  /**
   * Whether Netty checks that text frames are valid UTF-8 (RFC 6455 §8.1) and fails the connection
   * when not. An endpoint whose codec rejects invalid UTF-8 itself, with an errno, may turn it off
   * and save a handler per socket.
   */
  default boolean validatesUtf8() {
    return true;
  }
}
