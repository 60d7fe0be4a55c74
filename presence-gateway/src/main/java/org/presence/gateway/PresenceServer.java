package org.presence.gateway;

import com.codahale.metrics.MetricRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.presence.gateway.admin.AdminApi;
import org.presence.gateway.apps.AppFeatures;
import org.presence.gateway.bootstrap.EventLoops;
import org.presence.gateway.bootstrap.GatewayInitializer;
import org.presence.gateway.cluster.NodeLiveness;
import org.presence.gateway.cluster.RetentionSweep;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.connection.AddressCaps;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.demo.DemoApp;
import org.presence.gateway.demo.DemoPages;
import org.presence.gateway.device.DeviceChannel;
import org.presence.gateway.device.DeviceRegistry;
import org.presence.gateway.device.DeviceService;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.LoggedPresenceEvents;
import org.presence.gateway.fanout.SnapshotReader;
import org.presence.gateway.http.BodyBudget;
import org.presence.gateway.http.HttpRouter;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.identity.IdentityVerifiers;
import org.presence.gateway.identity.PresenceKeys;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.metrics.PrometheusExporter;
import org.presence.gateway.net.AddressRateLimiter;
import org.presence.gateway.net.TrustedProxies;
import org.presence.gateway.notify.NotificationChannel;
import org.presence.gateway.ops.ApiDocuments;
import org.presence.gateway.ops.BuildInfo;
import org.presence.gateway.ops.OpsEndpoints;
import org.presence.gateway.pages.PageSupport;
import org.presence.gateway.pairing.PairingEndpoints;
import org.presence.gateway.pairing.PairingService;
import org.presence.gateway.query.PresenceQueryApi;
import org.presence.gateway.settings.SettingsService;
import org.presence.gateway.tls.NodeTls;
import org.presence.gateway.trace.RedisSpans;
import org.presence.gateway.trace.Tracing;
import org.presence.gateway.updates.AppUpdates;
import org.presence.gateway.webhook.WebhookDispatcher;
import org.presence.gateway.xmpp.XmppServer;
import org.presence.gateway.xmpp.XmppWebSocket;
import org.presence.protocol.id.SecureRandoms;
import org.presence.store.Store;
import org.presence.store.error.StartupException;
import org.presence.store.user.UserSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Presence node: the store, the event loops, the route table and the bound port. {@link
 * #start} wires everything in one place; {@link #drain} and {@link #close} take it down again in
 * order (stop accepting, say goodbye to clients, close the store).
 */
public final class PresenceServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PresenceServer.class);

  private final PresenceConfig config;
  private final Store store;
  private final EventLoops loops;
  private final GatewayMetrics metrics;
  private final Connections connections;
  private final DevIdentity devIdentity;
  private final IdentityVerifier identityVerifier;
  private final AppFeatures appFeatures;
  private final DeviceChannel device;
  private final AppUpdates updates;
  private final WebhookDispatcher webhooks;
  private final NotificationChannel notifications;
  private final NodeLiveness liveness;
  private final Channel serverChannel;
  private final Channel adminChannel;
  private final InetSocketAddress address;
  private volatile XmppServer xmpp;
  private volatile RetentionSweep retention;
  private volatile NodeTls tls;
  private volatile Tracing tracing = Tracing.off();
  private volatile HttpRoutes gatewayRoutes;
  private volatile HttpRoutes adminRoutes;
  private volatile boolean closed;

  private PresenceServer(
      PresenceConfig config,
      Store store,
      EventLoops loops,
      GatewayMetrics metrics,
      Connections connections,
      DevIdentity devIdentity,
      IdentityVerifier identityVerifier,
      AppFeatures appFeatures,
      DeviceChannel device,
      AppUpdates updates,
      WebhookDispatcher webhooks,
      NotificationChannel notifications,
      NodeLiveness liveness,
      Channel serverChannel,
      Channel adminChannel) {
    this.config = config;
    this.store = store;
    this.loops = loops;
    this.metrics = metrics;
    this.connections = connections;
    this.devIdentity = devIdentity;
    this.identityVerifier = identityVerifier;
    this.appFeatures = appFeatures;
    this.device = device;
    this.updates = updates;
    this.webhooks = webhooks;
    this.notifications = notifications;
    this.liveness = liveness;
    this.serverChannel = serverChannel;
    this.adminChannel = adminChannel;
    this.address = (InetSocketAddress) serverChannel.localAddress();
  }

  /** Starts a node with the routes of every feature. */
  public static PresenceServer start(PresenceConfig config) {
    return start(config, routes -> {});
  }

  /**
   * Starts a node; {@code extraRoutes} may add routes after the built-in ones (tests add probes
   * this way).
   *
   * @throws StartupException naming the setting at fault when a backend or the port is unusable
   */
  public static PresenceServer start(
      PresenceConfig config, Consumer<HttpRoutes.Builder> extraRoutes) {
    // Seed the random number generators from the operating system here, not on an event loop.
    SecureRandoms.init();
    // TLS first: a bad certificate or key stops the node before anything else starts.
    NodeTls tls = NodeTls.start(config.tls());
    // Traces before the store: Lettuce decides when it connects whether Redis commands get spans.
    Tracing tracing = Tracing.start(config.otel(), config.nodeId(), BuildInfo.current().version());
    Store store;
    try {
      store = Store.open(config.store(), tracing.enabled() ? new RedisSpans(tracing) : null);
    } catch (RuntimeException e) {
      if (tls != null) {
        tls.close();
      }
      tracing.close();
      throw e;
    }
    Assembly node = new Assembly(config, tls, tracing, store);
    try {
      node.identity();
      node.opsRoutes();
      node.appFeatures();
      node.webhooks();
      node.deviceChannel();
      node.pairing();
      node.updates();
      node.notifications();
      node.xmppWebSocket();
      node.queryApi();
      node.demoPages();
      node.liveness();
      node.retention();
      node.adminApi();
      extraRoutes.accept(node.routes);
      node.router();
      node.bindGateway();
      node.bindAdminPort();
      node.startXmpp();
      node.ensureDemo();
      return node.started();
    } catch (RuntimeException e) {
      node.closeOnFailure();
      throw e;
    }
  }

  /**
   * The parts of a node while {@link #start} assembles it, one method a subsystem, called in order;
   * {@link #closeOnFailure} closes what has started when a later step fails.
   */
  private static final class Assembly {
    private final PresenceConfig config;
    private final NodeTls tls;
    private final Tracing tracing;
    private final Store store;
    private final HttpRoutes.Builder routes = HttpRoutes.builder();
    // The pages show URLs of this node, which are known once the port is bound.
    private final AtomicReference<String> baseUrl;
    private DevIdentity dev;
    private GatewayMetrics metrics;
    private Connections connections;
    private PresenceKeys presenceKeys;
    private IdentityVerifier identity;
    private Disconnector disconnector;
    private ExceptionHandler exceptions;
    private OpsEndpoints ops;
    private AppFeatures appFeatures;
    private AppUpdatePublisher publisher;
    private WebhookDispatcher webhooks;
    private DeviceChannel device;
    private AppUpdates updates;
    private NotificationChannel notifications;
    private XmppWebSocket xmppWebSocket;
    private DemoApp demo;
    private NodeLiveness liveness;
    private RetentionSweep retention;
    private AdminApi adminApi;
    private HttpRouter router;
    private EventLoops loops;
    private ServerBootstrap bootstrap;
    private Channel server;
    private HttpRoutes adminTable;
    private Channel admin;
    private XmppServer xmpp;

    Assembly(PresenceConfig config, NodeTls tls, Tracing tracing, Store store) {
      this.config = config;
      this.tls = tls;
      this.tracing = tracing;
      this.store = store;
      this.baseUrl = new AtomicReference<>(config.baseUrl(0));
    }

    /** Metrics, connection tracking and the verifier of identity tokens. */
    void identity() {
      dev = config.identity().devSigning() ? DevIdentity.loadOrCreate(config.dataDir()) : null;
      metrics = new GatewayMetrics(new MetricRegistry(), tracing);
      store.observeLatency(metrics.latency());
      if (tls != null) {
        tls.register(metrics.registry());
      }
      connections =
          new Connections(
              metrics,
              new AddressCaps(
                  config.gateway().maxPendingConnectionsPerAddress(),
                  config.gateway().maxConnectionsPerAddress(),
                  config.gateway().maxPendingConnections(),
                  TrustedProxies.parse(config.gateway().connectionCapExempt()),
                  TrustedProxies.parse(config.gateway().trustedProxies()),
                  metrics));
      // Presence's own signing keys (paired devices' tokens), shared through the database.
      presenceKeys =
          PresenceKeys.load(
              store.persistence().db(),
              Clock.systemUTC(),
              config.pairing().keyRotation(),
              config.pairing().keyReload());
      identity =
          IdentityVerifiers.create(
              config.identity(), dev, presenceKeys, metrics.registry(), Clock.systemUTC());
      disconnector = new Disconnector(metrics, config.gateway().closeLinger());
      exceptions = new ExceptionHandler(disconnector);
    }

    void opsRoutes() {
      ops =
          new OpsEndpoints(
              store,
              identity,
              new PrometheusExporter(metrics.registry(), metrics.latency().registry()),
              BuildInfo.current(),
              config.nodeId());
      ops.register(routes);
      new ApiDocuments().register(routes);
    }

    void appFeatures() {
      appFeatures = AppFeatures.start(config, store, identity, baseUrl::get);
      appFeatures.register(routes);
    }

    void webhooks() {
      // Every presence update for an application is numbered once, by its log, on the node where
      // the change happened, then published for live delivery (and heard by the webhook sender).
      publisher = new AppUpdatePublisher(store.updates(), store.bus());
      webhooks =
          new WebhookDispatcher(
              config.webhooks(),
              config.nodeId(),
              store.webhooks(),
              store.updates(),
              appFeatures.appCache(),
              store.persistence().apps(),
              new SnapshotReader(store.persistence().grants(), store.presence()),
              appFeatures.outbound(),
              metrics);
      publisher.addListener(webhooks);
      webhooks.start();
      appFeatures.portalPages().attachWebhooks(webhooks);
    }

    void deviceChannel() {
      // The fan-out: who sees a change (the grants), numbered and published by the publisher.
      LoggedPresenceEvents events =
          new LoggedPresenceEvents(publisher, appFeatures.grants()::enabledGrants);
      device =
          DeviceChannel.start(
              config, identity, store, events, metrics, disconnector, exceptions, routes);
      // In a cluster a batch of status updates is decided and logged in one Redis call, whose
      // audience and publication are this fan-out's.
      device.service().attachStatusBatches(store.statusBatches(events));
      // The user's messages: statuses carry them, a change re-announces them and reaches the
      // user's devices as a settings frame (docs/device-protocol.md).
      SettingsService settings = appFeatures.settings();
      device
          .service()
          .attachSettings(
              new DeviceService.SettingsSource() {
                @Override
                public CompletionStage<UserSettings> get(String user) {
                  return settings.cached(user);
                }

                @Override
                public UserSettings now(String user) {
                  return settings.cachedNow(user);
                }
              });
      appFeatures.settings().addListener(device.service()::announce);
      appFeatures.invalidations().register(SettingsService.KIND, device.service()::settingsChanged);
    }

    void pairing() {
      // Pairing (RFC 8628): a revoked device's tokens are refused, and its sessions end on every
      // node when the revocation's invalidation arrives.
      PairingService pairing =
          new PairingService(
              store.persistence().db(),
              presenceKeys,
              config.pairing(),
              config.identity().audience(),
              appFeatures.invalidations(),
              Clock.systemUTC());
      device.service().attachPairedDevices(pairing::active);
      appFeatures.attachPairedDevices(pairing::active);
      DeviceRegistry deviceRegistry = device.registry();
      // An open session's socket is held by the registry, not a second time by the connections.
      deviceRegistry.trackConnections(connections);
      appFeatures
          .invalidations()
          .register(
              PairingService.KIND,
              key -> {
                if (key.startsWith("device:")) {
                  deviceRegistry.revoked(null, key.substring("device:".length()));
                } else if (key.startsWith("user:")) {
                  deviceRegistry.revoked(key.substring("user:".length()), null);
                }
              });
      PairingEndpoints pairingEndpoints =
          new PairingEndpoints(
              pairing,
              presenceKeys,
              appFeatures.pages(),
              baseUrl::get,
              new AddressRateLimiter(
                  config.device().handshakeRate(), config.device().handshakeBurst()));
      pairingEndpoints.register(routes);
      appFeatures.settingsPages().attachPairedDevices(pairingEndpoints.settingsSection());
      // "Sign out all devices": paired devices revoked first (their refresh tokens die), then every
      // device session of the user ends on whichever node holds it.
      DeviceService devices = device.service();
      appFeatures
          .settingsPages()
          .attachDeviceSignOut(
              user -> pairing.revoke(user, null).thenCompose(n -> devices.disconnectUser(user)));
    }

    void updates() {
      updates =
          AppUpdates.start(
              config, store, appFeatures, publisher, metrics, connections, disconnector, routes);
    }

    void notifications() {
      notifications =
          NotificationChannel.start(config, store, appFeatures, device, metrics, routes);
    }

    void xmppWebSocket() {
      if (config.xmpp().enabled()) {
        xmppWebSocket = new XmppWebSocket();
        routes.webSocket(XmppWebSocket.PATH, xmppWebSocket);
      }
    }

    void queryApi() {
      new PresenceQueryApi(
              appFeatures.apiKeys(),
              store.persistence().grants(),
              store.presence(),
              store.shared(),
              config.nodeId(),
              config.queries())
          .register(routes);
    }

    void demoPages() {
      if (config.updates().demo()) {
        demo = new DemoApp(store.persistence().apps());
        new DemoPages(
                appFeatures.pages(),
                appFeatures.grants(),
                updates,
                notifications.service(),
                demo,
                baseUrl::get,
                store.presence(),
                config.dataDir())
            .register(routes);
      }
    }

    void retention() {
      retention = RetentionSweep.start(config.retention(), config.nodeId(), store, metrics);
    }

    void liveness() {
      liveness =
          NodeLiveness.start(
              config.cluster(),
              config.nodeId(),
              store.nodes(),
              store.presence(),
              device,
              metrics,
              store.redis() != null,
              store.redis() != null && config.store().redis().decideOnNode());
    }

    void adminApi() {
      // Started on every node (its admin port may be off), so that any node can list this one.
      adminApi =
          AdminApi.start(
              config.admin(),
              config.nodeId(),
              store,
              appFeatures.apps(),
              device.service(),
              liveness,
              config.cluster(),
              metrics,
              device.registry()::size);
    }

    void router() {
      PageSupport pageSupport = appFeatures.pages();
      router =
          new HttpRouter(
                  routes.build(),
                  config.limits(),
                  metrics,
                  connections,
                  disconnector,
                  TrustedProxies.parse(config.gateway().trustedProxies()))
              .withErrorPages(
                  (ex, code, reason, more) ->
                      pageSupport.errorPage(ex, pageSupport.visitor(ex), code, reason, more));
    }

    /** The node's budget of request bodies in flight, shared by the gateway and admin ports. */
    BodyBudget bodies;

    /** The event loops and the gateway port. */
    void bindGateway() {
      bodies = new BodyBudget(config.gateway().maxBodyBytesInFlight(), metrics);
      try {
        loops =
            EventLoops.create(
                EventLoops.Transport.named(config.gateway().transport()),
                config.gateway().ioThreads());
      } catch (IllegalStateException e) {
        throw new StartupException("gateway.transport", e.getMessage() + ": " + e.getCause(), e);
      }
      bootstrap =
          new ServerBootstrap()
              .group(loops.acceptor(), loops.io())
              .channel(loops.serverChannel())
              .option(ChannelOption.SO_BACKLOG, 4096)
              .option(ChannelOption.SO_REUSEADDR, true)
              // No TCP_NODELAY option: Netty's socket config turns it on for every accepted
              // socket already (epoll and NIO), and setting it again cost a setsockopt per
              // connection (DeviceChannelContract checks a session's socket has it).
              .childOption(ChannelOption.SO_KEEPALIVE, true)
              .childOption(
                  ChannelOption.WRITE_BUFFER_WATER_MARK,
                  new WriteBufferWaterMark(
                      config.gateway().writeBufferLow(), config.gateway().writeBufferHigh()))
              .childHandler(
                  new GatewayInitializer(
                      config.gateway(),
                      config.limits(),
                      metrics,
                      connections,
                      router,
                      exceptions,
                      disconnector,
                      tls,
                      connections.addressCaps(),
                      bodies));
      server = bind(bootstrap, "gateway.port", config.gateway().host(), config.gateway().port());
    }

    void bindAdminPort() {
      adminTable = adminRoutes(ops, adminApi);
      if (config.admin().enabled()) {
        try {
          admin =
              bindAdmin(
                  config,
                  bootstrap,
                  adminTable,
                  metrics,
                  connections,
                  disconnector,
                  exceptions,
                  config.tls().onAdminPort() ? tls : null,
                  bodies);
        } catch (StartupException e) {
          server.close().awaitUninterruptibly(1000);
          throw e;
        }
      }
    }

    void startXmpp() {
      try {
        xmpp =
            XmppServer.start(
                config,
                bootstrap,
                appFeatures,
                updates,
                notifications.service(),
                store.persistence().grants(),
                metrics,
                connections,
                store.bus());
      } catch (StartupException e) {
        closePorts();
        throw e;
      }
      if (xmppWebSocket != null) {
        xmppWebSocket.attach(xmpp);
      }
      if (xmpp == null) {
        // Sessions on nodes that run the interface hear of this node's grant changes too.
        XmppServer.publishRosterChanges(appFeatures, store.bus());
      }
    }

    void ensureDemo() {
      baseUrl.set(config.baseUrl(((InetSocketAddress) server.localAddress()).getPort()));
      if (demo != null) {
        // The demo application lives on this node's own address, known only now.
        try {
          demo.ensure(baseUrl.get()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          closePorts();
          throw new StartupException("updates.demo", "cannot set up the demo application: " + e, e);
        }
      }
    }

    private void closePorts() {
      server.close().awaitUninterruptibly(1000);
      if (admin != null) {
        admin.close().awaitUninterruptibly(1000);
      }
    }

    PresenceServer started() {
      PresenceServer node =
          new PresenceServer(
              config,
              store,
              loops,
              metrics,
              connections,
              dev,
              identity,
              appFeatures,
              device,
              updates,
              webhooks,
              notifications,
              liveness,
              server,
              admin);
      node.xmpp = xmpp;
      node.retention = retention;
      node.tls = tls;
      node.tracing = tracing;
      node.gatewayRoutes = router.routes();
      node.adminRoutes = adminTable;
      LOG.info(
          "node {} listening on {} ({} transport, {} database, {} bus)",
          config.nodeId(),
          node.listening(),
          loops.transport(),
          store.persistence().kind(),
          store.bus().kind());
      if (node.adminAddress() != null) {
        LOG.info(
            "admin port (metrics) on {}://{}:{}/metrics",
            config.tls().onAdminPort() ? "https" : "http",
            hostForUrl(config.admin().host()),
            node.adminAddress().getPort());
      }
      if (demo != null) {
        LOG.info("try it: open {}/demo", node.baseUrl());
      }
      return node;
    }

    /** Closes what has started, in the order {@link #start} always has. */
    void closeOnFailure() {
      if (loops != null) {
        loops.shutdown(1000);
      }
      if (tls != null) {
        tls.close();
      }
      tracing.close();
      if (appFeatures != null) {
        appFeatures.close();
      }
      if (retention != null) {
        retention.close();
      }
      if (liveness != null) {
        liveness.close();
      }
      if (notifications != null) {
        notifications.close();
      }
      if (device != null) {
        device.close();
      }
      if (updates != null) {
        updates.close();
      }
      if (webhooks != null) {
        webhooks.close();
      }
      store.close();
    }
  }

  /**
   * The admin port's routes: the operator's endpoints, {@code /metrics}, the admin API and page.
   */
  private static HttpRoutes adminRoutes(OpsEndpoints ops, AdminApi adminApi) {
    HttpRoutes.Builder routes = HttpRoutes.builder();
    ops.registerAdmin(routes);
    adminApi.register(routes);
    return routes.build();
  }

  /**
   * Binds the admin port: the same pipeline as the gateway port's, with its own route table and no
   * trusted proxies.
   */
  private static Channel bindAdmin(
      PresenceConfig config,
      ServerBootstrap gateway,
      HttpRoutes routes,
      GatewayMetrics metrics,
      Connections connections,
      Disconnector disconnector,
      ExceptionHandler exceptions,
      NodeTls tls,
      BodyBudget bodies) {
    HttpRouter router =
        new HttpRouter(
            routes,
            config.limits(),
            metrics,
            connections,
            disconnector,
            TrustedProxies.parse(java.util.List.of()));
    ServerBootstrap admin =
        gateway
            .clone()
            .childHandler(
                new GatewayInitializer(
                    config.gateway(),
                    config.limits(),
                    metrics,
                    connections,
                    router,
                    exceptions,
                    disconnector,
                    tls,
                    null,
                    bodies));
    return bind(admin, "admin.port", config.admin().host(), config.admin().port());
  }

  /** Binds {@code host:port}, or fails naming {@code setting}. */
  private static Channel bind(ServerBootstrap bootstrap, String setting, String host, int port) {
    try {
      return bootstrap.bind(host, port).syncUninterruptibly().channel();
    } catch (Exception e) {
      // Netty rethrows the bind failure (a checked BindException) without declaring it.
      throw new StartupException(
          setting, "cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  private static String hostForUrl(String host) {
    return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
  }

  /** The admin port's bound address, or {@code null} when {@code admin.enabled} is off. */
  /** The gateway port's route table (docs/api.md: the OpenAPI document lists each). */
  public HttpRoutes gatewayRoutes() {
    return gatewayRoutes;
  }

  /** The admin port's route table, whether or not the admin port is bound. */
  public HttpRoutes adminRoutes() {
    return adminRoutes;
  }

  public InetSocketAddress adminAddress() {
    return adminChannel == null ? null : (InetSocketAddress) adminChannel.localAddress();
  }

  /** The XMPP port's bound address, or {@code null} when {@code xmpp.port} is off. */
  public InetSocketAddress xmppAddress() {
    XmppServer x = xmpp;
    return x == null ? null : x.address();
  }

  /** The XMPP direct TLS port's bound address, or {@code null} when it is off. */
  public InetSocketAddress xmppTlsAddress() {
    XmppServer x = xmpp;
    return x == null ? null : x.tlsAddress();
  }

  /** The bound address (the real port when configured with 0). */
  public InetSocketAddress address() {
    return address;
  }

  /** The URL clients use to reach this node. */
  public String baseUrl() {
    return config.baseUrl(address.getPort());
  }

  /**
   * Where the node listens, for the start-up lines: the bound address's URL, followed by the public
   * URL in brackets when {@code gateway.public-url} names another.
   */
  public String listening() {
    String bound = config.gateway().boundUrl(address.getPort(), config.tls().enabled());
    String base = baseUrl();
    return bound.equals(base) ? bound : bound + " (public URL " + base + ")";
  }

  /** The Netty transport its sockets run on: {@code io_uring}, {@code epoll} or {@code nio}. */
  public String transport() {
    return loops.transport();
  }

  public PresenceConfig config() {
    return config;
  }

  public Store store() {
    return store;
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  /** The development identity, or {@code null} when development signing is off. */
  public DevIdentity devIdentity() {
    return devIdentity;
  }

  /** Verifies identity tokens for the device channel, the APIs and the pages. */
  public IdentityVerifier identityVerifier() {
    return identityVerifier;
  }

  /** Applications, grants and settings: services later features use. */
  public AppFeatures appFeatures() {
    return appFeatures;
  }

  /** The device channel: its service and session registry. */
  public DeviceChannel device() {
    return device;
  }

  /** The app update channel and stream. */
  public AppUpdates updates() {
    return updates;
  }

  /** The webhook sender. */
  public WebhookDispatcher webhooks() {
    return webhooks;
  }

  /** Live notifications: posting and delivering them. */
  public NotificationChannel notifications() {
    return notifications;
  }

  /** Open client connections. */
  public int openConnections() {
    return connections.size();
  }

  /** The node's open client connections. */
  public Connections connections() {
    return connections;
  }

  /**
   * Drains: stops accepting (on the gateway and the admin port), closes idle HTTP connections,
   * sends every WebSocket client a close (1001, going away) and waits until they are gone or {@code
   * timeout} has passed. Connections still open then are cut.
   */
  public void drain(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    serverChannel.close().awaitUninterruptibly(1000);
    XmppServer x = xmpp;
    if (x != null) {
      x.stopAccepting();
    }
    if (adminChannel != null) {
      adminChannel.close().awaitUninterruptibly(1000);
    }
    connections.drain();
    while (connections.size() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (connections.size() > 0) {
      LOG.warn("drain timeout: cutting {} connections", connections.size());
      connections.closeAll();
    }
  }

  /** Drains with the configured timeout, then stops the event loops and closes the store. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    drain(config.gateway().drainTimeout());
    loops.shutdown(2000);
    if (tls != null) {
      tls.close();
    }
    // After the sockets are gone: devices still in their grace period are released now (or, in a
    // cluster, left to the survivors once this node's lease runs out).
    retention.close();
    liveness.close();
    notifications.close();
    device.close();
    updates.close();
    webhooks.close();
    appFeatures.close();
    store.close();
    // Last: the spans of the drain are sent too.
    tracing.close();
    LOG.info("node {} stopped", config.nodeId());
  }
}
