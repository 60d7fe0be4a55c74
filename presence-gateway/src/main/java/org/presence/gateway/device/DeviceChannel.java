package org.presence.gateway.device;

import com.codahale.metrics.Gauge;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.store.Store;
import org.presence.store.presence.PresenceEvents;
import org.presence.store.push.JdbiClientMappingRepository;

/**
 * The device channel of a node, wired in one place: its service, its session registry, the
 * {@code device-timers} thread (grace periods and the keepalive sweep), the WebSocket route at
 * {@value DeviceChannelInstaller#PATH} and, when a secret is configured, the push-server route
 * {@value PushStatusHandler#PATH}. {@code PresenceServer} starts it and closes it after draining.
 */
public final class DeviceChannel implements AutoCloseable {
  private final DeviceService service;
  private final DeviceRegistry registry;
  private final ScheduledExecutorService timers;

  private DeviceChannel(
      DeviceService service, DeviceRegistry registry, ScheduledExecutorService timers) {
    this.service = service;
    this.registry = registry;
    this.timers = timers;
  }

  /**
   * Builds the channel, subscribes the node to its bus channel (waiting for it: this runs at
   * start-up, not on an event loop) and adds the routes to {@code routes}.
   *
   * @param events where real presence changes go (the applications' update logs)
   */
  public static DeviceChannel start(
      PresenceConfig config,
      IdentityVerifier identity,
      Store store,
      PresenceEvents events,
      GatewayMetrics metrics,
      Disconnector disconnector,
      ExceptionHandler exceptions,
      HttpRoutes.Builder routes) {
    ScheduledExecutorService timers =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "device-timers");
              t.setDaemon(true);
              return t;
            });
    try {
      DeviceRegistry registry = new DeviceRegistry(config.device().pingInterval());
      DeviceService service =
          new DeviceService(
              config.device(),
              config.nodeId(),
              identity,
              store.presence(),
              events,
              new JdbiClientMappingRepository(store.persistence().db()),
              store.bus(),
              registry,
              Clock.systemUTC(),
              timers,
              metrics);
      service.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
      registry.startKeepalive(timers, config.device().pingTimeout());
      routes.webSocket(
          DeviceChannelInstaller.PATH,
          new DeviceChannelInstaller(
              config.device(),
              config.limits().maxFrameBytes(),
              service,
              registry,
              disconnector,
              exceptions,
              metrics));
      if (config.push().enabled()) {
        routes.post(PushStatusHandler.PATH, new PushStatusHandler(config.push(), service));
      }
      metrics
          .registry()
          .register("presence.device.sessions.open", (Gauge<Integer>) registry::size);
      return new DeviceChannel(service, registry, timers);
    } catch (Exception e) {
      timers.shutdownNow();
      throw new IllegalStateException("cannot start the device channel: " + e, e);
    }
  }

  public DeviceService service() {
    return service;
  }

  public DeviceRegistry registry() {
    return registry;
  }

  /** Releases devices still in their grace period, stops the sweep and the timer thread. */
  @Override
  public void close() {
    registry.close();
    service.close();
    timers.shutdownNow();
  }
}
