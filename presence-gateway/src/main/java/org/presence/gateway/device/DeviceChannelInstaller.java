package org.presence.gateway.device;

import com.codahale.metrics.Counter;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import java.util.function.Consumer;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRouter;
import org.presence.gateway.http.WebSocketEndpoint;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.error.ErrorCode;

/**
 * The device channel's {@link WebSocketEndpoint}, routed at {@code /presence}: after the upgrade
 * the pipeline is
 *
 * <pre>
 * device-session
 * </pre>
 *
 * ({@code [tls]} before it on a TLS port) with no HTTP handler left (codec, aggregator, flow
 * control and router are gone) and, once the handshake is done and the connect read, no {@code
 * ws-protocol}, no {@code backpressure}, no {@code wsencoder} and no {@code wsdecoder} either:
 * {@link DeviceSessionHandler} answers pings and close frames itself, does the backpressure
 * handler's work ({@link org.presence.gateway.connection.Backpressure#takeOver}), encodes the
 * frames written on the socket ({@link org.presence.gateway.http.ServerFrames}) and decodes those
 * read with Netty's decoder of its own, and passes failures to the shared {@link ExceptionHandler}
 * as the {@code exception} tail would. Netty's UTF-8 check is not installed (see {@link
 * #validatesUtf8()}). It also holds what every {@link DeviceSessionHandler} of the node shares
 * (codec, service, registry, limits, metrics), so that a socket costs one small handler object and
 * its session.
 */
public final class DeviceChannelInstaller implements WebSocketEndpoint {
  /**
   * The path of the device channel (wiki: {@code wss://presence.services.mozilla.com/presence}).
   */
  public static final String PATH = "/presence";

  private final DeviceConfig config;
  private final DeviceCodec codec;
  private final DeviceService service;
  private final DeviceRegistry registry;
  private final Disconnector disconnector;
  private final ExceptionHandler exceptions;
  private final GatewayMetrics metrics;
  private final DeviceSession.RateLimit rateLimit;
  private final Counter framesIn;
  private final Counter framesOut;
  private final NotificationFrames notificationFrames;
  private final WebSocketDecoderConfig frameDecoding;
  private volatile LiveNotifications notifications = LiveNotifications.NONE;

  /** How a device socket ends when the node drains ({@link #onDrain}); one for all sockets. */
  private final Consumer<Channel> drain = this::drain;

  /** An installer whose pushed frames hold up to 100 notifications. */
  public DeviceChannelInstaller(
      DeviceConfig config,
      int maxFrameBytes,
      DeviceService service,
      DeviceRegistry registry,
      Disconnector disconnector,
      ExceptionHandler exceptions,
      GatewayMetrics metrics) {
    this(config, maxFrameBytes, 100, service, registry, disconnector, exceptions, metrics);
  }

  /** An installer whose pushed frames hold up to {@code frameItems} notifications. */
  public DeviceChannelInstaller(
      DeviceConfig config,
      int maxFrameBytes,
      int frameItems,
      DeviceService service,
      DeviceRegistry registry,
      Disconnector disconnector,
      ExceptionHandler exceptions,
      GatewayMetrics metrics) {
    this.config = config;
    this.codec =
        new DeviceCodec(
            new DeviceCodec.Limits(
                maxFrameBytes, config.maxApplicationIds(), config.maxMessageLength()));
    this.service = service;
    this.registry = registry;
    this.disconnector = disconnector;
    this.exceptions = exceptions;
    this.metrics = metrics;
    this.rateLimit = new DeviceSession.RateLimit(config.rate(), config.burst(), config.overdraft());
    this.framesIn = metrics.framesIn(Connections.Kind.DEVICE.label());
    this.framesOut = metrics.framesOut(Connections.Kind.DEVICE.label());
    this.notificationFrames = new NotificationFrames(frameItems, framesOut, disconnector);
    this.frameDecoding = HttpRouter.frameDecoding(maxFrameBytes, validatesUtf8());
  }

  void attach(LiveNotifications notifications) {
    this.notifications = notifications;
  }

  LiveNotifications notifications() {
    return notifications;
  }

  /** Splits and writes the notifications pushed to sessions. */
  NotificationFrames notificationFrames() {
    return notificationFrames;
  }

  @Override
  public Connections.Kind kind() {
    return Connections.Kind.DEVICE;
  }

  /**
   * A device socket ends through its session when the node drains ({@link SessionDriver#drain}):
   * the statuses it accepted are answered before the {@code SERVER_SHUTTING_DOWN} error frame and
   * the close (1001). A socket without a session handler (not upgraded yet) gets them at once.
   */
  @Override
  public Consumer<Channel> onDrain() {
    return drain;
  }

  private void drain(Channel ch) {
    DeviceSessionHandler h = ch.pipeline().get(DeviceSessionHandler.class);
    if (h != null) {
      h.drain();
    } else {
      disconnector.close(ch, ErrorCode.SERVER_SHUTTING_DOWN, null);
    }
  }

  @Override
  public boolean receivesPongs() {
    return true;
  }

  /**
   * The device codec checks every text frame's bytes before parsing them ({@link
   * org.presence.protocol.json.Utf8}, as strict as Netty's check: Jackson alone decodes overlong
   * forms, encoded surrogates and code points above U+10FFFF), eight ASCII bytes per step, and
   * fails the connection with {@code INVALID_UTF8} (error frame, then close 1007: RFC 6455 §8.1)
   * after the answers still due; {@link DeviceSessionHandler} checks the fragments of a (refused)
   * fragmented message the same way. So Netty's separate check, a handler per socket that reads a
   * byte at a time, is not installed.
   */
  @Override
  public boolean validatesUtf8() {
    return false;
  }

  @Override
  public void install(ChannelPipeline pipeline, HttpExchange upgrade) {
    // Requests are over on this socket: the HTTP flow control would only cost memory. Frames that
    // arrive while a connect is verified wait undecoded for its answer (reads are paused then).
    if (pipeline.get(PipelineNames.FLOW_CONTROL) != null) {
      pipeline.remove(PipelineNames.FLOW_CONTROL);
    }
    // The session handler is the tail: it hands failures to the shared exception handler itself,
    // which saves a pipeline entry per socket.
    pipeline.replace(
        PipelineNames.EXCEPTION, PipelineNames.DEVICE_SESSION, new DeviceSessionHandler(this));
  }

  DeviceConfig config() {
    return config;
  }

  DeviceCodec codec() {
    return codec;
  }

  DeviceService service() {
    return service;
  }

  DeviceRegistry registry() {
    return registry;
  }

  Disconnector disconnector() {
    return disconnector;
  }

  ExceptionHandler exceptions() {
    return exceptions;
  }

  GatewayMetrics metrics() {
    return metrics;
  }

  /** The settings of the {@code wsdecoder} the handshake installs, for the one that replaces it. */
  WebSocketDecoderConfig frameDecoding() {
    return frameDecoding;
  }

  DeviceSession.RateLimit rateLimit() {
    return rateLimit;
  }

  Counter framesIn() {
    return framesIn;
  }

  Counter framesOut() {
    return framesOut;
  }
}
