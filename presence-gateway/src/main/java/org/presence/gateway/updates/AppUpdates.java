package org.presence.gateway.updates;

import com.codahale.metrics.Gauge;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Predicate;
import org.presence.gateway.apps.AppFeatures;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.SnapshotReader;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.Store;
import org.presence.store.app.Application;
import org.presence.store.exec.StoreExecutors;
import org.presence.store.updates.AppUpdateLog;

/**
 * Presence updates to applications on one node (wiki "5. Status updates"), wired in one place: the
 * update channel ({@code /<appid>}, a WebSocket), the stream ({@code /<appid>/presence.json}), one
 * {@link AppHub} per application with connections here, the per-application connection limits, and
 * what pause, resume and revoke send ({@link GrantUpdates}). {@code PresenceServer} starts it and
 * closes it after draining. Webhooks are {@link org.presence.gateway.webhook.WebhookDispatcher}'s.
 */
public final class AppUpdates implements AutoCloseable {
  /**
   * An accepted connection before it has a consumer: its hub and where it starts. Counted against
   * the application's connection limits until {@link #release released}.
   */
  public final class Admission {
    final long appId;
    final AppHub hub;
    final long since;
    final boolean fresh;

    /**
     * The hash of the API key the connection authenticated with (as stored), or {@code null} for a
     * connection without a key (the demo page's): once the application's key is another, the
     * connection ends with {@code INVALID_API_KEY}.
     */
    final String keyHash;

    private final boolean counted;
    private boolean released;

    Admission(long appId, AppHub hub, long since, boolean fresh, String keyHash) {
      this(appId, hub, since, fresh, keyHash, true);
    }

    Admission(long appId, AppHub hub, long since, boolean fresh, String keyHash, boolean counted) {
      this.appId = appId;
      this.hub = hub;
      this.since = since;
      this.fresh = fresh;
      this.keyHash = keyHash;
      this.counted = counted;
    }

    /** A consumer writing to {@code sink}, started. */
    UpdateConsumer start(UpdateConsumer.Sink sink, Predicate<String> puids) {
      UpdateConsumer c =
          new UpdateConsumer(appId, hub, context, sink, puids, UpdateFormat.JSON, keyHash);
      if (since >= 0) {
        c.startAfter(since);
      } else {
        c.startWithSnapshot(fresh);
      }
      return recheck(c);
    }

    /**
     * A consumer writing frames of {@code format} to {@code sink} (another protocol's session),
     * started: a snapshot, then every update. Call on the sink's event loop.
     */
    public UpdateFeed startFeed(UpdateSink sink, UpdateFormat format) {
      UpdateConsumer c = new UpdateConsumer(appId, hub, context, sink, null, format, keyHash);
      c.startWithSnapshot(fresh);
      return recheck(c);
    }

    /**
     * As {@link #startFeed}, but resuming a delivery that reached update {@code since}: the updates
     * after it, from the log (a fresh snapshot when the log no longer has them). Call on the sink's
     * event loop.
     */
    public UpdateFeed startFeedAfter(UpdateSink sink, UpdateFormat format, long since) {
      UpdateConsumer c = new UpdateConsumer(appId, hub, context, sink, null, format, keyHash);
      c.startAfter(since);
      return recheck(c);
    }

    /**
     * Checks {@code c}, now in its hub, against the application as the cache has it: a change heard
     * between the key check and the consumer joining the hub (a regeneration, a deactivation) found
     * no consumer to end, so it ends here.
     */
    private UpdateConsumer recheck(UpdateConsumer c) {
      if (keyHash != null) {
        apps.appCache()
            .find(appId)
            .whenComplete(
                (app, e) -> {
                  if (e == null) {
                    endIfRevoked(c, app);
                  }
                });
      }
      return c;
    }

    /** The application admitted. */
    public long appId() {
      return appId;
    }

    /**
     * Whether the API key the connection authenticated with is still the current key of {@code app}
     * (another protocol's session checks this before acting with the key). Always true for a
     * connection admitted without a key.
     */
    public boolean keyCurrent(Application app) {
      return keyHash == null || keyHash.equals(app.apiKeyHash());
    }

    /**
     * Why {@code app} (as just read) no longer lets the connection run: {@code APP_NOT_ACTIVE} when
     * the application is gone or not active, {@code INVALID_API_KEY} when the key it authenticated
     * with is not the current one; {@code null} when it may go on. Another protocol's session ends
     * with {@link #reason} of the code, as the update connections do.
     */
    public ErrorCode revokedBy(Optional<Application> app) {
      return revocation(app, keyHash);
    }

    /** The connection ended: frees its place. Idempotent. */
    public synchronized void release() {
      if (!released) {
        released = true;
        if (counted) {
          limits.closed(appId, System.nanoTime());
        }
        closeHub(hub);
      }
    }
  }

  /**
   * One update connection as seen from the node.
   *
   * @param cursor the last update number delivered to it
   * @param pendingBytes bytes written to it and not yet sent
   * @param writable whether it takes more now
   * @param queuedReceipts receipts waiting for it
   */
  public record ConsumerStats(
      long cursor, long pendingBytes, boolean writable, int queuedReceipts) {}

  private record HubRef(AppHub hub, CompletableFuture<AppHub> started, int[] refs) {}

  private final UpdatesConfig config;
  private final AppFeatures apps;
  private final AppUpdateLog log;
  private final AppUpdatePublisher publisher;
  private final Store store;
  private final ScheduledExecutorService timers;
  private final UpdateMetrics metrics;
  private final UpdateConsumer.Context context;
  private final ConnectionLimits limits;
  private final ConcurrentHashMap<Long, HubRef> hubs = new ConcurrentHashMap<>();

  /** Set by {@link #close}: no hub opens any more. */
  private volatile boolean closed;

  private final GrantUpdates grantUpdates;
  private UpdateStreamHandler stream;

  private AppUpdates(
      PresenceConfig config,
      Store store,
      AppFeatures apps,
      AppUpdatePublisher publisher,
      GatewayMetrics gatewayMetrics,
      ScheduledExecutorService timers) {
    this.config = config.updates();
    this.apps = apps;
    this.store = store;
    this.log = publisher.log();
    this.publisher = publisher;
    this.timers = timers;
    this.metrics = new UpdateMetrics(gatewayMetrics.registry(), gatewayMetrics.latency());
    this.context =
        new UpdateConsumer.Context(
            log,
            new SnapshotReader(store.persistence().grants(), store.presence()),
            config.updates(),
            metrics);
    this.limits =
        new ConnectionLimits(config.updates(), store.connectionCounts(config.cluster().lease()));
    this.grantUpdates = new GrantUpdates(publisher, store.presence());
    gatewayMetrics.registry().register("presence.updates.hubs", (Gauge<Integer>) hubs::size);
    gatewayMetrics
        .registry()
        .register(
            "presence.updates.buffered",
            (Gauge<Long>) () -> hubs.values().stream().mapToLong(h -> h.hub().buffered()).sum());
  }

  /**
   * Builds the feature, hooks it to grant changes and adds its routes: the update channel and the
   * stream.
   */
  public static AppUpdates start(
      PresenceConfig config,
      Store store,
      AppFeatures apps,
      AppUpdatePublisher publisher,
      GatewayMetrics metrics,
      Connections connections,
      Disconnector disconnector,
      HttpRoutes.Builder routes) {
    ScheduledExecutorService timers =
        Executors.newSingleThreadScheduledExecutor(StoreExecutors.named("updates-timers-"));
    AppUpdates u = new AppUpdates(config, store, apps, publisher, metrics, timers);
    apps.grants().listen(u.grantUpdates);
    apps.appCache().onChange(u::appChanged);
    routes.webSocket(
        UpdateChannelInstaller.PATH,
        new UpdateChannelInstaller(u, config.updates(), disconnector, metrics, timers));
    u.stream = new UpdateStreamHandler(u, config.updates(), connections, metrics, timers);
    routes.stream(UpdateStreamHandler.PATH, u.stream);
    return u;
  }

  /**
   * An application changed (on any node; the cache invalidation {@code app:<id>} that every change
   * publishes): when it is no longer active (deactivated), its update connections on this node end
   * at once with {@code APP_NOT_ACTIVE}; when its API key was regenerated, those opened with a
   * previous key end with {@code INVALID_API_KEY}, and those opened with the current key go on.
   */
  private void appChanged(long appId) {
    HubRef ref = hubs.get(appId);
    if (ref == null) {
      return;
    }
    apps.appCache()
        .find(appId)
        .whenComplete(
            (app, e) -> {
              if (e != null) {
                return;
              }
              for (UpdateConsumer c : ref.hub().consumers()) {
                endIfRevoked(c, app);
              }
            });
  }

  /**
   * Ends {@code c} when {@code app} no longer lets it run: {@code APP_NOT_ACTIVE} when the
   * application is gone or not active, {@code INVALID_API_KEY} when the key it authenticated with
   * is not the application's current one.
   */
  private static void endIfRevoked(UpdateConsumer c, Optional<Application> app) {
    ErrorCode code = revocation(app, c.keyHash());
    if (code != null) {
      c.end(code, reason(code));
    }
  }

  private static ErrorCode revocation(Optional<Application> app, String keyHash) {
    if (app.isEmpty() || !app.get().active()) {
      return ErrorCode.APP_NOT_ACTIVE;
    }
    if (keyHash != null && !keyHash.equals(app.get().apiKeyHash())) {
      return ErrorCode.INVALID_API_KEY;
    }
    return null;
  }

  /** The detail a connection ended for {@code code} (of {@link Admission#revokedBy}) carries. */
  public static String reason(ErrorCode code) {
    return code == ErrorCode.APP_NOT_ACTIVE
        ? "the application was deactivated"
        : "the API key was regenerated";
  }

  UpdatesConfig config() {
    return config;
  }

  /**
   * Checks an application's connection: its key ({@code UNKNOWN_APP}, {@code APP_NOT_ACTIVE},
   * {@code INVALID_API_KEY}), its limits ({@code TOO_MANY_APP_CONNECTIONS}, {@code
   * TOO_MANY_APP_RECONNECTS}) and its {@code since} ({@code INVALID_SINCE} when ahead of the log;
   * too old means a fresh snapshot). Completes with the admission, which the caller must release.
   */
  CompletionStage<Admission> admit(long appId, String key, long since) {
    return apps.apiKeys()
        .authenticate(appId, key)
        .thenCompose(
            app ->
                limits
                    .open(appId, System.nanoTime())
                    .thenCompose(
                        counted ->
                            openHub(appId)
                                .handle(
                                    (hub, e) -> {
                                      if (e != null) {
                                        limits.closed(appId, System.nanoTime());
                                        if (e instanceof ProtocolException shuttingDown) {
                                          throw shuttingDown;
                                        }
                                        throw new ProtocolException(
                                            ErrorCode.BACKEND_UNAVAILABLE, null, e);
                                      }
                                      return new Admission(appId, hub, -1, false, app.apiKeyHash());
                                    })))
        .thenCompose(a -> since < 0 ? CompletableFuture.completedFuture(a) : checkSince(a, since));
  }

  /**
   * Admits a connection of another protocol (XMPP) with the application's key, as the update
   * channel does: fails with the same {@link ProtocolException}s as {@link #admit} (without {@code
   * since}). The caller releases the admission when the connection ends.
   */
  public CompletionStage<Admission> admitApp(long appId, String key) {
    return admit(appId, key, -1);
  }

  /**
   * Serves the updates of {@code appId} whose PUID {@code puids} accepts as a server-sent event
   * stream ({@code text/event-stream}, one event per frame) on {@code exchange}, without a key: the
   * demo page's own view of its visitor, authenticated by the page session.
   */
  public void followAsEventStream(
      org.presence.gateway.http.HttpExchange exchange, long appId, Predicate<String> puids) {
    stream.serveEvents(exchange, appId, puids);
  }

  /**
   * A connection that needs no key (the demo page's, one per visitor, not counted against the
   * application's limits). Completes with its admission.
   */
  CompletionStage<Admission> admitInternal(long appId) {
    return openHub(appId).thenApply(hub -> new Admission(appId, hub, -1, false, null, false));
  }

  private CompletionStage<Admission> checkSince(Admission a, long since) {
    return log.readSince(a.appId, since, 1)
        .handle(
            (read, e) -> {
              if (e != null) {
                a.release();
                throw new ProtocolException(ErrorCode.BACKEND_UNAVAILABLE, null, e);
              }
              return switch (read.outcome()) {
                case OK -> new Admission(a.appId, a.hub, since, false, a.keyHash);
                case TOO_OLD -> new Admission(a.appId, a.hub, -1, true, a.keyHash);
                case AHEAD -> {
                  a.release();
                  throw new ProtocolException(
                      ErrorCode.INVALID_SINCE, "ahead of the application's last update");
                }
              };
            });
  }

  private CompletionStage<AppHub> openHub(long appId) {
    HubRef ref =
        hubs.compute(
            appId,
            (k, cur) -> {
              HubRef r = cur;
              if (r == null) {
                if (closed) {
                  // Shutting down: no new hub (close() would not see it).
                  return null;
                }
                AppHub hub = new AppHub(appId, publisher, store.bus(), config, timers, metrics);
                r = new HubRef(hub, new CompletableFuture<>(), new int[1]);
                HubRef made = r;
                hub.start()
                    .whenComplete(
                        (v, e) -> {
                          if (e != null) {
                            made.started().completeExceptionally(e);
                          } else {
                            made.started().complete(hub);
                          }
                        });
              }
              r.refs()[0]++;
              return r;
            });
    if (ref == null) {
      return CompletableFuture.failedFuture(
          new ProtocolException(ErrorCode.SERVER_SHUTTING_DOWN, null));
    }
    return ref.started()
        .whenComplete(
            (h, e) -> {
              if (e != null) {
                closeHub(ref.hub());
              }
            });
  }

  private void closeHub(AppHub hub) {
    hubs.computeIfPresent(
        hub.appId(),
        (k, cur) -> {
          if (cur.hub() != hub) {
            return cur;
          }
          if (--cur.refs()[0] > 0) {
            return cur;
          }
          hub.close();
          return null;
        });
  }

  /** Update connections of {@code appId} open on this node (tests, metrics). */
  public int connections(long appId) {
    return limits.open(appId);
  }

  /** The update connections of {@code appId} on this node (tests, operators). */
  public java.util.List<ConsumerStats> stats(long appId) {
    HubRef r = hubs.get(appId);
    return r == null
        ? java.util.List.of()
        : r.hub().consumers().stream().map(UpdateConsumer::stats).toList();
  }

  /** Updates of {@code appId} held in this node's memory now, or 0 (tests). */
  public int buffered(long appId) {
    HubRef r = hubs.get(appId);
    return r == null ? 0 : r.hub().buffered();
  }

  /** Hubs open on this node (tests). */
  int openHubs() {
    return hubs.size();
  }

  /**
   * Closes every hub. A hub is never opened once this began: an admission asked meanwhile fails
   * with {@code SERVER_SHUTTING_DOWN} (a hub opened between closing the hubs and clearing the map
   * was dropped unclosed).
   */
  @Override
  public void close() {
    closed = true;
    // Each hub present now is closed once (the key set's iterator sees every entry present when
    // it is made); none is added later.
    for (Long appId : hubs.keySet()) {
      hubs.computeIfPresent(
          appId,
          (k, r) -> {
            r.hub().close();
            return null;
          });
    }
    timers.shutdownNow();
  }
}
