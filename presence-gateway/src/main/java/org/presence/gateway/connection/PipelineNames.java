package org.presence.gateway.connection;

/**
 * Names of the handlers in a channel's pipeline, each used by the code that adds, finds or removes
 * it. {@link org.presence.gateway.bootstrap.GatewayInitializer} builds the common head; the router
 * installs a path-specific tail after {@link #HTTP_ROUTER} and removes itself when a connection is
 * upgraded.
 */
public final class PipelineNames {
  public static final String BACKPRESSURE = "backpressure";

  /** The TLS handler of a port that speaks TLS ({@code tls.*}), right after the backpressure. */
  public static final String TLS = "tls";

  /**
   * What times a request's header ({@code gateway.http-header-timeout}), before the HTTP codec;
   * removed with {@link #HTTP_IDLE}.
   */
  public static final String HTTP_HEADER_DEADLINE = "http-header-deadline";

  public static final String HTTP_CODEC = "http-codec";
  public static final String HTTP_AGGREGATOR = "http-aggregator";
  public static final String HTTP_IDLE = "http-idle";
  public static final String FLOW_CONTROL = "flow-control";
  public static final String HTTP_ROUTER = "http-router";
  public static final String WS_PROTOCOL = "ws-protocol";

  /** The WebSocket frame encoder, as Netty's handshaker names it. */
  public static final String WS_ENCODER = "wsencoder";

  /** The WebSocket frame decoder, as Netty's handshaker names it. */
  public static final String WS_DECODER = "wsdecoder";

  /** What drops a closing WebSocket's frames until the client's close frame. */
  public static final String CLOSING = "closing";

  public static final String DEVICE_SESSION = "device-session";
  public static final String APP_SESSION = "app-session";
  public static final String UPDATE_STREAM = "update-stream";
  public static final String EXCEPTION = "exception";

  private PipelineNames() {}
}
