package org.presence.gateway.device;

import com.codahale.metrics.Counter;
import io.netty.channel.ChannelPipeline;
import org.presence.gateway.bootstrap.PipelineNames;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.WebSocketEndpoint;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.routing.Connections;
import org.presence.protocol.device.DeviceCodec;

/**
 * The device channel's {@link WebSocketEndpoint}, routed at {@code /presence}: after the upgrade
 * the pipeline is
 *
 * <pre>
 * wsdecoder → wsencoder → ws-protocol → device-session → exception
 * </pre>
 *
 * with no HTTP handler left (codec, aggregator, flow control and router are gone). It also holds what every {@link DeviceSessionHandler}
 * of the node shares (codec, service, registry, limits, metrics), so that a socket costs one small
 * handler object and its session.
 */
public final class DeviceChannelInstaller implements WebSocketEndpoint {
  /** The path of the device channel (wiki: {@code wss://presence.services.mozilla.com/presence}). */
  public static final String PATH = "/presence";

  private final DeviceConfig config;
  private final DeviceCodec codec;
  private final DeviceService service;
  private final DeviceRegistry registry;
  private final Disconnector disconnector;
  private final GatewayMetrics metrics;
  private final DeviceSession.RateLimit rateLimit;
  private final Counter framesIn;
  private final Counter framesOut;
  private final int frameItems;
  private volatile LiveNotifications notifications = LiveNotifications.NONE;

  public DeviceChannelInstaller(
      DeviceConfig config,
      int maxFrameBytes,
      int frameItems,
      DeviceService service,
      DeviceRegistry registry,
      Disconnector disconnector,
      GatewayMetrics metrics) {
    this.config = config;
    this.codec =
        new DeviceCodec(
            new DeviceCodec.Limits(
                maxFrameBytes, config.maxApplicationIds(), config.maxMessageLength()));
    this.service = service;
    this.registry = registry;
    this.disconnector = disconnector;
    this.metrics = metrics;
    this.rateLimit =
        new DeviceSession.RateLimit(config.rate(), config.burst(), config.overdraft());
    this.framesIn = metrics.framesIn(Connections.Kind.DEVICE.label());
    this.framesOut = metrics.framesOut(Connections.Kind.DEVICE.label());
    this.frameItems = frameItems;
  }

  void attach(LiveNotifications notifications) {
    this.notifications = notifications;
  }

  LiveNotifications notifications() {
    return notifications;
  }

  /** Most notifications in one pushed frame. */
  int frameItems() {
    return frameItems;
  }

  @Override
  public Connections.Kind kind() {
    return Connections.Kind.DEVICE;
  }

  @Override
  public boolean receivesPongs() {
    return true;
  }

  @Override
  public void install(ChannelPipeline pipeline, HttpExchange upgrade) {
    // Requests are over on this socket: the HTTP flow control would only cost memory. Frames that
    // arrive while a connect is verified are answered by the session (reads are paused then).
    if (pipeline.get(PipelineNames.FLOW_CONTROL) != null) {
      pipeline.remove(PipelineNames.FLOW_CONTROL);
    }
    pipeline.addBefore(
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

  GatewayMetrics metrics() {
    return metrics;
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
