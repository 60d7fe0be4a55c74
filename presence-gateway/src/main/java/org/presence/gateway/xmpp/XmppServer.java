package org.presence.gateway.xmpp;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.apps.AppFeatures;
import org.presence.gateway.config.NotificationsConfig;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.config.XmppConfig;
import org.presence.gateway.connection.AddressCaps;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.notify.NotificationService;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.tls.TlsPolicy;
import org.presence.gateway.updates.AppUpdates;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.store.app.Application;
import org.presence.store.bus.PresenceBus;
import org.presence.store.error.StartupException;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The XMPP interface for applications on one node (docs/xmpp.md): its own port ({@code xmpp.port}),
 * each connection's pipeline
 *
 * <pre>
 * backpressure → [tls, after STARTTLS] → xmpp-decoder → xmpp-session
 * </pre>
 *
 * and, with {@code xmpp.tls-port}, a second port for direct TLS (XEP-0368) where the TLS handler is
 * there from the first byte and STARTTLS is neither offered nor needed; and what the sessions
 * share: the TLS context, the update channel's admission and feeds ({@link AppUpdates}), the
 * notification service, the roster (an application's enabled grants), roster pushes on grant
 * changes, and the counters under {@code presence.xmpp.*}. Connections count as {@code xmpp} in
 * {@code presence.connections.open.*} and end with {@code system-shutdown} when the node drains.
 */
public final class XmppServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(XmppServer.class);
  static final String DECODER = "xmpp-decoder";
  static final String SESSION = "xmpp-session";
  static final String TLS = "tls";

  /**
   * How an XMPP connection (of either port, or a WebSocket) ends when the node drains; runs on the
   * channel's event loop.
   */
  static final java.util.function.Consumer<Channel> DRAIN =
      c -> {
        XmppSession session = c.pipeline().get(XmppSession.class);
        if (session != null) {
          session.shutdown();
        } else {
          c.close();
        }
      };

  /** One roster entry: the PUID and the user's string shown for it. */
  record RosterItem(String puid, String name) {}

  /** The most roster items one roster answer carries. */
  static final int MAX_ROSTER = 10_000;

  private static final int ROSTER_PAGE = 1000;

  private final XmppConfig config;
  private final SslContext tls;
  private final AppUpdates updates;
  private final XmppNotifications notifications;
  private final GrantRepository grants;
  private final AppCache apps;
  private final Duration pingInterval;
  private final Duration linger;
  private final int socketSendBuffer;
  private final ConcurrentHashMap<Long, Set<XmppSession>> sessions = new ConcurrentHashMap<>();
  private final MetricRegistry registry;
  private final Counter stanzasIn;
  private final Counter stanzasOut;
  private final Counter stanzaErrors;
  private final Counter authFailures;
  private final Counter tlsFailures;
  private final com.github.benmanes.caffeine.cache.Cache<java.net.InetAddress, double[]> failures;
  private final Counter resumed;
  private final Counter resumeFailures;

  /**
   * Resumable sessions (XEP-0198) by id: a live session, or the state of one whose connection
   * ended, kept for {@code xmpp.resume-window} after that.
   */
  private final com.github.benmanes.caffeine.cache.Cache<String, Resumable> resumable;

  private Channel server;
  private Channel tlsServer;
  private PresenceBus bus;
  private PresenceBus.Subscription rosterSubscription;

  /** This node's mark on the roster changes it publishes, to skip them when they come back. */
  private final String nodeMark = XmppSession.randomId(9);

  /** Resumable sessions one node remembers; beyond, the least recently used are forgotten. */
  static final int MAX_RESUMABLE = 10_000;

  /** A resumable session: {@code live} while its connection is open, else its {@code state}. */
  private record Resumable(long appId, XmppSession live, StreamManagement state) {}

  private XmppServer(
      PresenceConfig config,
      SslContext tls,
      AppUpdates updates,
      XmppNotifications notifications,
      GrantRepository grants,
      AppCache apps,
      GatewayMetrics metrics) {
    this.config = config.xmpp();
    this.tls = tls;
    this.updates = updates;
    this.notifications = notifications;
    this.grants = grants;
    this.apps = apps;
    this.pingInterval = config.updates().pingInterval();
    this.linger = config.gateway().closeLinger();
    this.socketSendBuffer = config.updates().socketSendBuffer();
    this.failures =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterAccess(
                Duration.ofSeconds(
                    (long) Math.ceil(this.config.authFailureBurst() / this.config.authFailureRate())
                        + 1))
            .build();
    this.registry = metrics.registry();
    this.stanzasIn = registry.counter("presence.xmpp.stanzas_in");
    this.stanzasOut = registry.counter("presence.xmpp.stanzas_out");
    this.stanzaErrors = registry.counter("presence.xmpp.stanza_errors");
    this.authFailures = registry.counter("presence.xmpp.auth_failures");
    this.tlsFailures = registry.counter("presence.xmpp.tls_failures");
    this.resumed = registry.counter("presence.xmpp.resumed");
    this.resumeFailures = registry.counter("presence.xmpp.resume_failures");
    long window = this.config.resumeWindow().toNanos();
    this.resumable =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(MAX_RESUMABLE)
            .expireAfter(
                new com.github.benmanes.caffeine.cache.Expiry<String, Resumable>() {
                  @Override
                  public long expireAfterCreate(String k, Resumable v, long now) {
                    return v.live() != null ? Long.MAX_VALUE : window;
                  }

                  @Override
                  public long expireAfterUpdate(String k, Resumable v, long now, long current) {
                    return expireAfterCreate(k, v, now);
                  }

                  @Override
                  public long expireAfterRead(String k, Resumable v, long now, long current) {
                    return current;
                  }
                })
            .build();
    registry.register("presence.xmpp.resumable", (Gauge<Long>) () -> resumable.estimatedSize());
    registry.register(
        "presence.xmpp.sessions",
        (Gauge<Integer>) () -> sessions.values().stream().mapToInt(Set::size).sum());
  }

  /**
   * Starts the interface when {@code xmpp.port} is set: makes the TLS context, listens with the
   * gateway's event loops and options ({@code gateway}, cloned), and hooks roster pushes to grant
   * changes. Returns {@code null} when the interface is off.
   *
   * @throws StartupException naming the setting at fault (certificate, key, port)
   */
  public static XmppServer start(
      PresenceConfig config,
      ServerBootstrap gateway,
      AppFeatures apps,
      AppUpdates updates,
      NotificationService notifications,
      GrantRepository grants,
      GatewayMetrics metrics,
      Connections connections,
      PresenceBus bus) {
    XmppConfig x = config.xmpp();
    if (!x.enabled()) {
      return null;
    }
    SslContext tls = sslContext(x);
    NotificationsConfig c = config.notifications();
    NotificationBatchCodec codec =
        new NotificationBatchCodec(
            new NotificationBatchCodec.Limits(
                1,
                NotificationsConfig.MAX_TEXT_LENGTH,
                (int) NotificationsConfig.MIN_TTL.toSeconds(),
                (int) NotificationsConfig.MAX_TTL.toSeconds(),
                new HashSet<>(c.actionSchemes()),
                c.maxBodyBytes()));
    XmppServer s =
        new XmppServer(
            config,
            tls,
            updates,
            new XmppNotifications(notifications, codec, apps.appCache(), x.domain()),
            grants,
            apps.appCache(),
            metrics);
    s.bus = bus;
    s.rosterSubscription = s.subscribeRoster();
    apps.grants().listen(s::grantChanged);
    apps.appCache().onChange(s::appChanged);
    long unwritable = config.gateway().unwritableTimeout().toMillis();
    s.server = s.listen(gateway, connections, unwritable, x.port(), false, "xmpp.port");
    if (x.directTls()) {
      try {
        s.tlsServer =
            s.listen(gateway, connections, unwritable, x.tlsPort(), true, "xmpp.tls-port");
      } catch (StartupException e) {
        s.server.close().awaitUninterruptibly(1000);
        throw e;
      }
    }
    LOG.info(
        "xmpp for applications on {}:{}{} (domain {}{})",
        x.host(),
        s.address().getPort(),
        s.tlsServer == null ? "" : ", direct TLS on " + s.tlsAddress().getPort(),
        x.domain(),
        x.selfSigned() ? ", self-signed certificate" : "");
    return s;
  }

  /**
   * Listens on {@code port}: a connection over its address's cap ({@link AddressCaps}, shared with
   * the gateway port) is closed at once; each other one's pipeline starts with the backpressure
   * handler (holding its slot in the caps), then (direct TLS, XEP-0368) a TLS handler from the
   * first byte, the decoder and a session.
   */
  private Channel listen(
      ServerBootstrap gateway,
      Connections connections,
      long unwritable,
      int port,
      boolean directTls,
      String setting) {
    XmppServer s = this;
    // Shared by every connection's handler.
    Backpressure.Stall stall =
        new Backpressure.Stall(
            unwritable,
            stalled -> {
              XmppSession session = stalled.pipeline().get(XmppSession.class);
              if (session != null) {
                session.streamError("connection-timeout", "not reading what it is sent");
              }
            });
    ServerBootstrap b =
        gateway
            .clone()
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    // The gateway port's per-address caps count these connections too: closed
                    // at the accept over a cap, pending until the stream authenticates.
                    AddressCaps caps = connections.addressCaps();
                    AddressCaps.Slot slot = caps == null ? null : caps.open(ch.remoteAddress());
                    if (slot == AddressCaps.REFUSED) {
                      ch.close();
                      return;
                    }
                    ch.pipeline()
                        .addLast(PipelineNames.BACKPRESSURE, new Backpressure(stall, slot));
                    connections.opened(ch);
                    connections.upgraded(ch, Connections.Kind.XMPP, DRAIN);
                    if (directTls) {
                      ch.pipeline().addLast(TLS, tls.newHandler(ch.alloc()));
                    }
                    ch.pipeline()
                        .addLast(
                            DECODER, new StanzaDecoder(config.maxStanzaBytes(), config.maxDepth()))
                        .addLast(SESSION, new XmppSession(s, directTls));
                  }
                });
    try {
      return b.bind(config.host(), port).syncUninterruptibly().channel();
    } catch (Exception e) {
      throw new StartupException(
          setting, "cannot listen on " + config.host() + ":" + port + ": " + e.getMessage(), e);
    }
  }

  private static SslContext sslContext(XmppConfig x) {
    try {
      SslContextBuilder b;
      if (x.selfSigned()) {
        SelfSignedCertificate cert = SelfSignedCertificate.create(x.domain());
        b = SslContextBuilder.forServer(cert.keys.getPrivate(), cert.certificate);
      } else {
        b = SslContextBuilder.forServer(new File(x.tlsCert()), new File(x.tlsKey()));
      }
      return TlsPolicy.apply(b).build();
    } catch (Exception e) {
      throw new StartupException(
          "xmpp.tls-cert", "cannot use the certificate and key: " + e.getMessage(), e);
    }
  }

  /** The bound address (the real port when configured with 0). */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** The direct TLS port's bound address, or {@code null} when {@code xmpp.tls-port} is off. */
  public InetSocketAddress tlsAddress() {
    return tlsServer == null ? null : (InetSocketAddress) tlsServer.localAddress();
  }

  /** Stops accepting connections (the node drains; open sessions end by their drain action). */
  public void stopAccepting() {
    if (rosterSubscription != null) {
      rosterSubscription.unsubscribe();
      rosterSubscription = null;
    }
    if (server != null) {
      server.close().awaitUninterruptibly(1000);
    }
    if (tlsServer != null) {
      tlsServer.close().awaitUninterruptibly(1000);
    }
  }

  @Override
  public void close() {
    stopAccepting();
  }

  // ---- grants: the roster ----

  /** The application's roster: its enabled grants, at most {@link #MAX_ROSTER}. */
  CompletionStage<List<RosterItem>> roster(long appId) {
    return page(appId, "", new ArrayList<>());
  }

  private CompletionStage<List<RosterItem>> page(long appId, String after, List<RosterItem> acc) {
    return grants
        .listEnabledByApp(appId, after, ROSTER_PAGE)
        .thenCompose(
            list -> {
              for (Grant g : list) {
                if (acc.size() < MAX_ROSTER) {
                  acc.add(new RosterItem(g.puid(), g.userString()));
                }
              }
              if (list.size() < ROSTER_PAGE || acc.size() >= MAX_ROSTER) {
                return CompletableFuture.completedFuture(acc);
              }
              return page(appId, list.get(list.size() - 1).puid(), acc);
            });
  }

  /**
   * A grant changed on this node: a roster push to the application's sessions here, and through the
   * bus ({@link RosterChange#CHANNEL}) to those on other nodes. The user's answer waits until the
   * bus took the message; a bus that is down only costs the other nodes' pushes (their sessions get
   * the change at the next roster get).
   */
  private CompletionStage<Void> grantChanged(GrantService.Change change, Grant grant) {
    RosterChange c = rosterChange(nodeMark, change, grant);
    rosterPush(grant.appId(), new RosterItem(c.puid(), c.name()), c.shared());
    return publish(bus, c);
  }

  /**
   * On a node without the XMPP interface: its grant changes still reach the XMPP sessions of other
   * nodes as roster pushes (through the bus, as a node with the interface sends them), so that a
   * cluster may run the interface on some nodes only. A user pausing a grant through such a node
   * would otherwise leave the PUID in the rosters of the application's sessions elsewhere (they get
   * the {@code unavailable} presence through the update log, but no {@code remove}).
   */
  public static void publishRosterChanges(AppFeatures apps, PresenceBus bus) {
    String mark = XmppSession.randomId(9);
    apps.grants().listen((change, grant) -> publish(bus, rosterChange(mark, change, grant)));
  }

  private static RosterChange rosterChange(String mark, GrantService.Change change, Grant grant) {
    boolean shared =
        (change == GrantService.Change.GRANTED || change == GrantService.Change.RESUMED)
            && grant.enabled();
    return new RosterChange(
        mark,
        grant.appId(),
        shared,
        grant.puid(),
        grant.userString() == null ? "" : grant.userString());
  }

  /**
   * Sends {@code c} to the other nodes. The user's answer waits until the bus took the message; a
   * bus that is down only costs the other nodes' pushes (their sessions get the change at the next
   * roster get).
   */
  private static CompletionStage<Void> publish(PresenceBus bus, RosterChange c) {
    if (bus == null || !bus.mayReach(RosterChange.CHANNEL)) {
      return CompletableFuture.completedFuture(null);
    }
    long appId = c.appId();
    return bus.publish(RosterChange.CHANNEL, c.encode())
        .handle(
            (v, e) -> {
              if (e != null) {
                LOG.warn(
                    "roster change of app {} not sent to other nodes: {}", appId, e.toString());
              }
              return null;
            });
  }

  private void rosterPush(long appId, RosterItem item, boolean shared) {
    Set<XmppSession> of = sessions.get(appId);
    if (of != null) {
      for (XmppSession s : of) {
        s.executor().execute(() -> s.rosterPush(item, shared));
      }
    }
  }

  /** Listens to the roster changes of other nodes; waits (bounded) for the subscription. */
  private PresenceBus.Subscription subscribeRoster() {
    try {
      return bus.subscribe(RosterChange.CHANNEL, (channel, message) -> rosterChanged(message))
          .toCompletableFuture()
          .get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("xmpp.port", "interrupted subscribing to roster changes", e);
    } catch (Exception e) {
      throw new StartupException(
          "xmpp.port", "cannot subscribe to roster changes on the bus: " + e.getMessage(), e);
    }
  }

  /** A roster change from the bus: pushed here unless this node made it. */
  private void rosterChanged(byte[] message) {
    RosterChange c;
    try {
      c = RosterChange.decode(message);
    } catch (IllegalArgumentException e) {
      LOG.warn("malformed roster change on the bus: {}", e.toString());
      return;
    }
    if (!c.node().equals(nodeMark)) {
      rosterPush(c.appId(), new RosterItem(c.puid(), c.name()), c.shared());
    }
  }

  // ---- the application: its state and key ----

  /** The application of a session as the cache has it (read again after each change). */
  CompletionStage<Optional<Application>> app(long appId) {
    return apps.find(appId);
  }

  /**
   * An application changed (on any node: the cache invalidation {@code app:<id>} that every change
   * publishes reaches every node): each of its sessions here, logged in with or without initial
   * presence, ends at once when the application is no longer active or its key was regenerated
   * since the session's login, with the stream error the update feed's end gives ({@link
   * XmppSession#endIfRevoked}).
   */
  private void appChanged(long appId) {
    if (!sessions.containsKey(appId)) {
      return;
    }
    apps.find(appId)
        .whenComplete(
            (app, e) -> {
              Set<XmppSession> of = sessions.get(appId);
              if (e != null || of == null) {
                return;
              }
              for (XmppSession s : of) {
                try {
                  s.executor().execute(() -> s.endIfRevoked(app));
                } catch (RejectedExecutionException closing) {
                  // The event loop is shutting down: so is the session.
                }
              }
            });
  }

  /**
   * The session bound to each full JID on this node (RFC 6120 §7.7.2.2): a newer binding of the
   * same JID, or a resumption of a session that had it, takes its place, and the one it replaces
   * ends with {@code conflict}.
   */
  private final ConcurrentHashMap<String, XmppSession> byJid = new ConcurrentHashMap<>();

  /**
   * Session {@code s} bound {@code fullJid} (or resumed a session that had it): a session of this
   * node bound to the same JID ends with {@code conflict}, on its event loop.
   */
  void jidBound(String fullJid, XmppSession s) {
    XmppSession old = byJid.put(fullJid, s);
    if (old != null && old != s) {
      old.executor().execute(old::replaced);
    }
  }

  /** Session {@code s}, bound to {@code fullJid}, ended: the JID is free unless taken since. */
  void jidReleased(String fullJid, XmppSession s) {
    byJid.remove(fullJid, s);
  }

  /**
   * Session {@code s} logged in (SASL succeeded) or resumed: it gets roster pushes once bound, and
   * ends when its application is deactivated or its key regenerated.
   */
  void sessionOpened(XmppSession s) {
    // Added inside the map's compute, as sessionEnded removes: added after it, a session bound
    // while its application's last one ends could land in the set that call just removed.
    sessions.compute(
        s.appId(),
        (k, set) -> {
          Set<XmppSession> of = set == null ? ConcurrentHashMap.newKeySet() : set;
          of.add(s);
          return of;
        });
  }

  void sessionEnded(XmppSession s) {
    sessions.computeIfPresent(
        s.appId(),
        (k, set) -> {
          set.remove(s);
          return set.isEmpty() ? null : set;
        });
  }

  // ---- stream resumption (XEP-0198) ----

  /** {@code session} can be resumed with {@code id}. */
  void resumable(String id, XmppSession session) {
    resumable.put(id, new Resumable(session.appId(), session, null));
  }

  /** The connection of a resumable session ended: its state waits for a resumption. */
  void detach(StreamManagement state) {
    resumable.put(state.id, new Resumable(state.appId, null, state));
  }

  /** {@code state} was taken by a resumption: drops what {@link #detach} left of it. */
  void forget(StreamManagement state) {
    Resumable r = resumable.getIfPresent(state.id);
    if (r != null && r.state() == state) {
      resumable.asMap().remove(state.id, r);
    }
  }

  /** Session {@code s} ended for good: drops its entry unless another session took the id. */
  void forget(String id, XmppSession s) {
    Resumable r = resumable.getIfPresent(id);
    if (r != null && r.live() == s) {
      resumable.asMap().remove(id, r);
    }
  }

  /**
   * What a resumption found: the session's state, or {@code null} with {@code tooHigh} when the
   * peer acknowledged more than the session sent (the session stays resumable), or neither when
   * unknown here.
   */
  record Taken(StreamManagement state, boolean tooHigh) {
    static final Taken NONE = new Taken(null, false);
    static final Taken TOO_HIGH = new Taken(null, true);
  }

  /**
   * Takes the state of session {@code id} of application {@code appId} for a resumption that
   * acknowledges {@code h}: from a live session (which then ends with {@code conflict}, on its
   * event loop) or one whose connection ended within {@code xmpp.resume-window}. {@link Taken#NONE}
   * when unknown here (another node, expired, another application's, or taken already).
   */
  CompletionStage<Taken> takeResumable(String id, long appId, long h) {
    Resumable r = resumable.getIfPresent(id);
    if (r == null || r.appId() != appId || !resumable.asMap().remove(id, r)) {
      return CompletableFuture.completedFuture(Taken.NONE);
    }
    if (r.state() != null) {
      if (System.nanoTime() - r.state().detachedNanos >= config.resumeWindow().toNanos()) {
        return CompletableFuture.completedFuture(Taken.NONE);
      }
      if (r.state().absolute(h) < 0) {
        resumable.asMap().putIfAbsent(id, r);
        return CompletableFuture.completedFuture(Taken.TOO_HIGH);
      }
      return CompletableFuture.completedFuture(new Taken(r.state(), false));
    }
    CompletableFuture<Taken> f = new CompletableFuture<>();
    try {
      r.live().executor().execute(() -> f.complete(r.live().handOver(h)));
    } catch (RejectedExecutionException e) {
      f.complete(Taken.NONE);
    }
    return f;
  }

  Duration resumeWindow() {
    return config.resumeWindow();
  }

  Counter resumed() {
    return resumed;
  }

  Counter resumeFailures() {
    return resumeFailures;
  }

  // ---- failed logins per client address ----

  /**
   * Whether {@code address} may try to authenticate now: its bucket of failures ({@code
   * xmpp.auth-failure-burst}, refilled at {@code xmpp.auth-failure-rate} per second) is not empty.
   */
  boolean mayAuthenticate(java.net.InetAddress address) {
    double[] b = failures.getIfPresent(address);
    if (b == null) {
      return true;
    }
    synchronized (b) {
      refill(b);
      return b[0] >= 1;
    }
  }

  /** A failed attempt of {@code address} takes a token. */
  void authFailed(java.net.InetAddress address) {
    double[] b =
        failures.get(address, k -> new double[] {config.authFailureBurst(), System.nanoTime()});
    synchronized (b) {
      refill(b);
      b[0] = Math.max(0, b[0] - 1);
    }
  }

  private void refill(double[] b) {
    long now = System.nanoTime();
    b[0] =
        Math.min(
            config.authFailureBurst(), b[0] + (now - (long) b[1]) * config.authFailureRate() / 1e9);
    b[1] = now;
  }

  // ---- what sessions share ----

  XmppConfig config() {
    return config;
  }

  String domain() {
    return config.domain();
  }

  SslContext tls() {
    return tls;
  }

  AppUpdates updates() {
    return updates;
  }

  XmppNotifications notifications() {
    return notifications;
  }

  Duration pingInterval() {
    return pingInterval;
  }

  Duration linger() {
    return linger;
  }

  /** {@code updates.socket-send-buffer}: SO_SNDBUF of authenticated sessions, or 0. */
  int socketSendBuffer() {
    return socketSendBuffer;
  }

  StanzaDecoder decoder(ChannelHandlerContext ctx) {
    return ctx.pipeline().get(StanzaDecoder.class);
  }

  Counter stanzasIn() {
    return stanzasIn;
  }

  Counter stanzasOut() {
    return stanzasOut;
  }

  Counter stanzaErrors() {
    return stanzaErrors;
  }

  Counter authFailures() {
    return authFailures;
  }

  Counter tlsFailures() {
    return tlsFailures;
  }

  void streamError(String condition) {
    registry.counter("presence.xmpp.stream_errors." + condition.replace('-', '_')).inc();
  }
}
