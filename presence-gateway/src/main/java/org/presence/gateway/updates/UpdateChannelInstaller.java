package org.presence.gateway.updates;

import com.codahale.metrics.Counter;
import io.netty.channel.ChannelPipeline;
import java.util.concurrent.ScheduledExecutorService;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.WebSocketEndpoint;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * The update channel's {@link WebSocketEndpoint} at {@code /<appid>} (wiki: {@code
 * ws://<node>.presence.mozilla.com/<appid>}): after the upgrade the pipeline is
 *
 * <pre>
 * backpressure → wsencoder → wsdecoder → app-session → exception
 * </pre>
 *
 * ({@code ws-protocol} leaves once the handshake is done; {@link UpdateSessionHandler} answers the
 * control frames.) It holds what every {@link UpdateSessionHandler} of the node shares.
 */
final class UpdateChannelInstaller implements WebSocketEndpoint {
  /** The route: an application id. */
  static final String PATH = "/{appid:[0-9]+}";

  private final AppUpdates updates;
  private final UpdatesConfig config;
  private final Disconnector disconnector;
  private final GatewayMetrics metrics;
  private final Counter framesIn;
  private final Counter framesOut;

  UpdateChannelInstaller(
      AppUpdates updates,
      UpdatesConfig config,
      Disconnector disconnector,
      GatewayMetrics metrics,
      ScheduledExecutorService timers) {
    this.updates = updates;
    this.config = config;
    this.disconnector = disconnector;
    this.metrics = metrics;
    this.framesIn = metrics.framesIn(Connections.Kind.APP.label());
    this.framesOut = metrics.framesOut(Connections.Kind.APP.label());
  }

  @Override
  public Connections.Kind kind() {
    return Connections.Kind.APP;
  }

  @Override
  public boolean receivesPongs() {
    return true;
  }

  /**
   * The key frame is read by {@link org.presence.protocol.app.AppCodec#decodeKey}, which checks its
   * bytes are well-formed UTF-8 first ({@link org.presence.protocol.json.Utf8}) and refuses them as
   * {@code MALFORMED_JSON} (10) like any key frame that is not JSON, as the device channel does;
   * later frames are not read (each is answered with {@code ALREADY_CONNECTED}, whatever it holds).
   * So Netty's separate check, which would fail the connection with {@code HANDSHAKE_FAILED}
   * instead, is not installed.
   */
  @Override
  public boolean validatesUtf8() {
    return false;
  }

  @Override
  public void install(ChannelPipeline pipeline, HttpExchange upgrade) {
    if (pipeline.get(PipelineNames.FLOW_CONTROL) != null) {
      pipeline.remove(PipelineNames.FLOW_CONTROL);
    }
    pipeline.addBefore(
        PipelineNames.EXCEPTION,
        PipelineNames.APP_SESSION,
        new UpdateSessionHandler(this, upgrade.param("appid")));
  }

  AppUpdates updates() {
    return updates;
  }

  UpdatesConfig config() {
    return config;
  }

  Disconnector disconnector() {
    return disconnector;
  }

  GatewayMetrics metrics() {
    return metrics;
  }

  Counter framesIn() {
    return framesIn;
  }

  Counter framesOut() {
    return framesOut;
  }
}
