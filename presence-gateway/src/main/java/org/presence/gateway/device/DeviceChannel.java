package org.presence.gateway.device;

import com.codahale.metrics.Gauge;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.fanout.PresenceEvents;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.net.AddressRateLimiter;
import org.presence.store.Store;
import org.presence.store.bus.PresenceBus;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.push.ClientMappingRepository;
import org.presence.store.push.JdbiClientMappingRepository;

/**
 * The device channel of a node, wired in one place: its service, its session registry, the {@code
 * device-timers} thread (grace periods and the keepalive sweep), the WebSocket route at {@value
 * DeviceChannelInstaller#PATH} and, when a secret is configured, the push-server route {@value
 * PushStatusHandler#PATH}. {@code PresenceServer} starts it and closes it after draining.
 */
public final class DeviceChannel implements AutoCloseable {
  private final DeviceService service;
  private final DeviceRegistry registry;
  private final ScheduledExecutorService timers;
  private final DeviceChannelInstaller installer;

  private DeviceChannel(
      DeviceService service,
      DeviceRegistry registry,
      ScheduledExecutorService timers,
      DeviceChannelInstaller installer) {
    this.service = service;
    this.registry = registry;
    this.timers = timers;
    this.installer = installer;
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
          assemble(
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
      // Changes not published for want of the grants go as soon as the database is back.
      store.persistence().db().whenReachable(service::retryUnpublished);
      registry.startKeepalive(
          timers, config.device().pingTimeout(), config.device().identityGrace());
      DeviceChannelInstaller installer =
          new DeviceChannelInstaller(
              config.device(),
              config.limits().maxFrameBytes(),
              config.notifications().frameItems(),
              service,
              registry,
              disconnector,
              exceptions,
              metrics);
      routes.webSocket(DeviceChannelInstaller.PATH, installer);
      if (config.push().enabled()) {
        routes.post(PushStatusHandler.PATH, new PushStatusHandler(config.push(), service));
      }
      metrics.registry().register("presence.device.sessions.open", (Gauge<Integer>) registry::size);
      metrics
          .registry()
          .register(
              "presence.device.presence.unpublished", (Gauge<Integer>) service::unpublishedUsers);
      return new DeviceChannel(service, registry, timers, installer);
    } catch (Exception e) {
      timers.shutdownNow();
      throw new IllegalStateException("cannot start the device channel: " + e, e);
    }
  }

  /**
   * Builds the device service from its parts: the handshake limit and token check, status updates,
   * the published changes, the user's messages, session ownership, grace releases and push
   * presence.
   *
   * @param sessions this node's sessions, which a newer session or the operator may end
   * @param timers the {@code device-timers} thread (grace periods)
   */
  static DeviceService assemble(
      DeviceConfig config,
      String nodeId,
      IdentityVerifier verifier,
      PresenceStateStore state,
      PresenceEvents events,
      ClientMappingRepository mappings,
      PresenceBus bus,
      DeviceService.LocalSessions sessions,
      Clock clock,
      ScheduledExecutorService timers,
      GatewayMetrics metrics) {
    PresenceChanges changes =
        new PresenceChanges(
            events, metrics, new UnpublishedChanges(state, events, timers, clock, metrics));
    SettingsMessages messages = new SettingsMessages(nodeId, state, changes, sessions, clock);
    return new DeviceService(
        new DeviceAuthentication(
            new AddressRateLimiter(config.handshakeRate(), config.handshakeBurst()), verifier),
        new SessionStatuses(state, changes, messages, clock, metrics.latency()),
        changes,
        messages,
        new SessionOwnership(
            nodeId,
            config.maxDevicesPerUser(),
            state,
            bus,
            sessions,
            clock,
            metrics.registry().counter("presence.device.sessions.replaced")),
        new GraceReleases(state, changes, timers, config.offlineGrace(), clock),
        new PushPresence(mappings, state, changes, messages::of, clock),
        clock);
  }

  public DeviceService service() {
    return service;
  }

  public DeviceRegistry registry() {
    return registry;
  }

  /**
   * Hands sessions to live notifications: opened sessions get what waits for their user, answers go
   * to {@code notifications}. Called once at start, before the port is bound.
   */
  public void attach(LiveNotifications notifications) {
    installer.attach(notifications);
  }

  /** Releases devices still in their grace period, stops the sweep and the timer thread. */
  @Override
  public void close() {
    registry.close();
    service.close();
    timers.shutdownNow();
  }
}
