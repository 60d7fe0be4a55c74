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
 * backpressure → wsencoder → wsdecoder → utf8 → app-session → exception
 * </pre>
 *
 * ({@code ws-protocol} leaves once the handshake is done; {@link UpdateSessionHandler} answers the
 * control frames; {@code utf8} is Netty's {@code Utf8FrameValidator}, which checks every text
 * frame.) It holds what every {@link UpdateSessionHandler} of the node shares.
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
   * Netty's UTF-8 check is installed: every text frame, the key frame, later ones and the fragments
   * of a message, is checked as it arrives, and text that is not UTF-8 fails the connection with
   * {@code INVALID_UTF8} (close 1007, RFC 6455 §8.1) through the {@code exception} tail. Update
   * sockets are few and send little after the key, so the handler per socket costs nothing that
   * matters; the key frame's own check in {@link org.presence.protocol.app.AppCodec#decodeKey} only
   * backs it up.
   */
  @Override
  public boolean validatesUtf8() {
    return true;
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
