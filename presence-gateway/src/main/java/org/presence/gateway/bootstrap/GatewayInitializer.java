package org.presence.gateway.bootstrap;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.config.GatewayConfig;
import org.presence.gateway.config.LimitsConfig;
import org.presence.gateway.connection.AddressCaps;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.http.BodyBudget;
import org.presence.gateway.http.HeaderDeadline;
import org.presence.gateway.http.HttpRouter;
import org.presence.gateway.http.JsonHttpObjectAggregator;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.tls.NodeTls;
import org.presence.protocol.error.ErrorCode;

/**
 * Builds the common head of every connection's pipeline:
 *
 * <pre>
 * backpressure → [tls] → http-header-deadline → http-codec → http-aggregator → http-idle
 *   → flow-control → http-router → exception
 * </pre>
 *
 * {@code tls} is there when the port speaks TLS ({@code tls.*}): it becomes the TLS handler with
 * the node's current certificate ({@link NodeTls}) for the connection's life, or answers plain HTTP
 * with a 400 and closes. {@code http-header-deadline} ({@link HeaderDeadline}) gives each request's
 * header {@code gateway.http-header-timeout}, then answers 408 and closes; it goes with {@code
 * http-idle} when the connection is upgraded. {@code backpressure} ({@link Backpressure}) stays for
 * the connection's life, whatever it becomes (but a device socket, whose session handler takes its
 * work over once the WebSocket is up): it pauses reads while the connection is not writable and
 * closes it with {@code SLOW_CONSUMER} when that lasts {@code gateway.unwritable-timeout}. The
 * aggregator's small limit caps request bodies; {@code flow-control} releases one request per read
 * so that a pipelining client cannot make the router answer out of order; the router installs the
 * path's tail after itself. Shared handlers are singletons.
 *
 * <p>With {@link AddressCaps} (the gateway port's), a connection over its address's cap is closed
 * before anything is added to its pipeline: no TLS handshake, no HTTP decoding. A counted one's
 * slot goes with its {@code backpressure}, which gives it back when the connection closes.
 */
public final class GatewayInitializer extends ChannelInitializer<SocketChannel> {
  private final GatewayConfig gateway;
  private final LimitsConfig limits;
  private final GatewayMetrics metrics;
  private final Connections connections;
  private final HttpRouter router;
  private final ExceptionHandler exceptionHandler;

  /** Shared by every connection's {@link Backpressure}. */
  private final Backpressure.Stall stall;

  private final NodeTls tls;

  /** The per-address caps, or {@code null} (the admin port). */
  private final AddressCaps caps;

  /** The node's budget of request bodies in flight, shared by its ports. */
  private final BodyBudget bodies;

  public GatewayInitializer(
      GatewayConfig gateway,
      LimitsConfig limits,
      GatewayMetrics metrics,
      Connections connections,
      HttpRouter router,
      ExceptionHandler exceptionHandler,
      Disconnector disconnector) {
    this(
        gateway,
        limits,
        metrics,
        connections,
        router,
        exceptionHandler,
        disconnector,
        null,
        null,
        new BodyBudget(gateway.maxBodyBytesInFlight(), null));
  }

  /**
   * {@code tls}: the port's TLS, or {@code null} for plain HTTP; {@code caps}: the port's
   * per-address caps, or {@code null} for none.
   */
  public GatewayInitializer(
      GatewayConfig gateway,
      LimitsConfig limits,
      GatewayMetrics metrics,
      Connections connections,
      HttpRouter router,
      ExceptionHandler exceptionHandler,
      Disconnector disconnector,
      NodeTls tls,
      AddressCaps caps,
      BodyBudget bodies) {
    this.bodies = bodies;
    this.tls = tls;
    this.caps = caps;
    this.gateway = gateway;
    this.limits = limits;
    this.metrics = metrics;
    this.connections = connections;
    this.router = router;
    this.exceptionHandler = exceptionHandler;
    this.stall =
        new Backpressure.Stall(
            gateway.unwritableTimeout().toMillis(),
            ch -> disconnector.close(ch, ErrorCode.SLOW_CONSUMER, "not reading what it is sent"));
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    AddressCaps.Slot slot = caps == null ? null : caps.open(ch.remoteAddress());
    if (slot == AddressCaps.REFUSED) {
      ch.close();
      return;
    }
    ChannelPipeline p = ch.pipeline();
    p.addLast(PipelineNames.BACKPRESSURE, new Backpressure(stall, slot));
    connections.opened(ch);
    if (tls != null) {
      p.addLast(PipelineNames.TLS, tls.newConnectionHandler(PipelineNames.TLS));
    }
    // Before the codec, to see a header's first bytes; the aggregator tells it where headers end.
    HeaderDeadline deadline =
        new HeaderDeadline(
            gateway.httpHeaderTimeout().toMillis(), gateway.httpBodyTimeout().toMillis(), metrics);
    p.addLast(PipelineNames.HTTP_HEADER_DEADLINE, deadline);
    p.addLast(
        PipelineNames.HTTP_CODEC,
        new HttpServerCodec(
            new HttpDecoderConfig()
                .setMaxInitialLineLength(limits.maxInitialLineBytes())
                .setMaxHeaderSize(limits.maxHeaderBytes())
                .setMaxChunkSize(8192),
            // The aggregator refuses a client far ahead of its answers, in order, long before.
            JsonHttpObjectAggregator.CODEC_PIPELINE_DEPTH));
    p.addLast(
        PipelineNames.HTTP_AGGREGATOR,
        new JsonHttpObjectAggregator(limits.maxRequestBytes(), router.routes(), deadline, bodies));
    p.addLast(
        PipelineNames.HTTP_IDLE,
        new IdleStateHandler(0, 0, gateway.httpIdleTimeout().toMillis(), TimeUnit.MILLISECONDS));
    p.addLast(PipelineNames.FLOW_CONTROL, new FlowControlHandler());
    p.addLast(PipelineNames.HTTP_ROUTER, router);
    p.addLast(PipelineNames.EXCEPTION, exceptionHandler);
  }
}
