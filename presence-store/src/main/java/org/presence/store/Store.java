package org.presence.store;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.bus.PresenceBus;
import org.presence.store.bus.RedisPresenceBus;
import org.presence.store.cluster.LocalNodeRegistry;
import org.presence.store.cluster.NodeRegistry;
import org.presence.store.cluster.RedisNodeRegistry;
import org.presence.store.cluster.RedisSharedValues;
import org.presence.store.cluster.SharedValues;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.Persistence;
import org.presence.store.db.PostgresPersistence;
import org.presence.store.error.Causes;
import org.presence.store.error.StartupException;
import org.presence.store.limit.ConnectionCounts;
import org.presence.store.limit.LocalConnectionCounts;
import org.presence.store.limit.LocalTokenBuckets;
import org.presence.store.limit.RedisConnectionCounts;
import org.presence.store.limit.RedisTokenBuckets;
import org.presence.store.limit.TokenBuckets;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.RedisPresenceStateStore;
import org.presence.store.presence.RedisStatusBatches;
import org.presence.store.presence.StatusBatches;
import org.presence.store.queue.JdbiNotificationQueues;
import org.presence.store.queue.JournalNotificationQueues;
import org.presence.store.queue.NotificationQueues;
import org.presence.store.queue.RedisNotificationQueues;
import org.presence.store.redis.RedisBackend;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;
import org.presence.store.updates.LocalWebhookState;
import org.presence.store.updates.RedisAppUpdateLog;
import org.presence.store.updates.RedisWebhookState;
import org.presence.store.updates.WebhookState;

/**
 * Opens the node's persistence and bus from a {@link StoreConfig} and closes them again: the one
 * place that picks the embedded or the cluster implementation of each.
 */
public final class Store implements AutoCloseable {
  /** How long a backend may take to answer a health check. */
  private static final long HEALTH_TIMEOUT_MS = 2000;

  /** How many keys (applications) a node keeps a token bucket, or an empty bucket's wait, for. */
  private static final long MAX_BUCKET_KEYS = 100_000;

  private final StoreConfig config;
  private final Persistence persistence;
  private final RedisBackend redis;
  private final PresenceBus bus;
  private final NotificationQueues notifications;
  private final AppUpdateLog updates;
  private final PresenceStateStore presence;
  private final NodeRegistry nodes;
  private final SharedValues shared;
  private final WebhookState webhooks;
  private final java.util.List<ConnectionCounts> connectionCounts =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private Store(StoreConfig config, Persistence persistence, RedisBackend redis, PresenceBus bus) {
    this.config = config;
    this.persistence = persistence;
    this.redis = redis;
    this.bus = bus;
    this.notifications =
        redis != null
            ? new RedisNotificationQueues(redis, config.queueRetention(), config.maxQueuedPerApp())
            : config.embeddedDatabase()
                ? openJournal(config)
                : new JdbiNotificationQueues(persistence.db(), config.maxQueuedPerApp());
    this.updates =
        redis == null
            ? new LocalAppUpdateLog(
                java.time.Clock.systemUTC(), AppUpdateLog.RETENTION, config.updateLogMaxPerApp())
            : new RedisAppUpdateLog(redis, AppUpdateLog.RETENTION, config.updateLogMaxPerApp());
    this.presence =
        redis == null ? new LocalPresenceStateStore() : new RedisPresenceStateStore(redis);
    this.nodes = redis == null ? new LocalNodeRegistry() : new RedisNodeRegistry(redis);
    this.webhooks = redis == null ? new LocalWebhookState() : new RedisWebhookState(redis);
    this.shared = redis == null ? SharedValues.none() : new RedisSharedValues(redis);
  }

  private static NotificationQueues openJournal(StoreConfig config) {
    try {
      return JournalNotificationQueues.open(config.dataDir(), config.maxQueuedPerApp());
    } catch (RuntimeException e) {
      throw new StartupException(
          "data-dir", "cannot open the notification journal: " + rootMessage(e), e);
    }
  }

  /**
   * Opens everything the configuration asks for; fails with a {@link StartupException} naming the
   * setting at fault, having closed whatever it had opened.
   */
  public static Store open(StoreConfig config) {
    return open(config, null);
  }

  /**
   * Opens the store; {@code tracing}, when not {@code null}, gets a span for every Redis command (a
   * cluster's store; the embedded default has no Redis).
   */
  public static Store open(StoreConfig config, org.presence.store.metrics.StoreTracing tracing) {
    Persistence persistence = openPersistence(config);
    RedisBackend redis = null;
    PresenceBus bus;
    try {
      if (config.localBus()) {
        bus = new LocalPresenceBus();
      } else {
        redis = openRedis(config, tracing);
        bus = new RedisPresenceBus(redis);
      }
    } catch (RuntimeException e) {
      persistence.close();
      throw e;
    }
    try {
      return new Store(config, persistence, redis, bus);
    } catch (RuntimeException e) {
      bus.close();
      if (redis != null) {
        redis.close();
      }
      persistence.close();
      throw e;
    }
  }

  private static Persistence openPersistence(StoreConfig config) {
    if (config.embeddedDatabase()) {
      try {
        return EmbeddedPersistence.open(config);
      } catch (StartupException e) {
        throw e;
      } catch (RuntimeException e) {
        // Only a locked file means another process has it; a damaged file, a read-only file
        // system or a permission says so in its own message.
        throw new StartupException(
            "data-dir",
            "cannot open the embedded database in "
                + config.dataDir().toAbsolutePath()
                + (EmbeddedPersistence.inUse(e) ? " (is another node using it?)" : "")
                + ": "
                + rootMessage(e),
            e);
      }
    }
    try {
      return PostgresPersistence.open(config);
    } catch (IllegalArgumentException e) {
      throw new StartupException("store.database.url", StoreConfig.redact(rootMessage(e)), e);
    } catch (RuntimeException e) {
      // The URL may carry a password: never in a message.
      throw new StartupException(
          "store.database.url",
          "cannot use PostgreSQL at "
              + StoreConfig.redact(config.database().url())
              + ": "
              + StoreConfig.redact(rootMessage(e)),
          e);
    }
  }

  private static RedisBackend openRedis(
      StoreConfig config, org.presence.store.metrics.StoreTracing tracing) {
    try {
      return RedisBackend.connect(config.redis(), tracing);
    } catch (IllegalArgumentException e) {
      throw new StartupException(
          "store.redis.url",
          "unparsable Redis URL: " + StoreConfig.RedisConfig.redact(rootMessage(e)),
          e);
    } catch (RuntimeException e) {
      // The URL may carry a password: never in a message.
      throw new StartupException(
          "store.redis.url",
          "cannot connect to Redis at "
              + config.redis().redactedUrl()
              + ": "
              + StoreConfig.RedisConfig.redact(rootMessage(e)),
          e);
    }
  }

  /** {@link Causes#innermostMessage} on one line. */
  private static String rootMessage(Throwable e) {
    return Causes.innermostMessage(e).replace('\n', ' ');
  }

  /** The configuration this store was opened with. */
  public StoreConfig config() {
    return config;
  }

  /** Apps, grants and settings. */
  public Persistence persistence() {
    return persistence;
  }

  /** The bus between nodes. */
  public PresenceBus bus() {
    return bus;
  }

  /**
   * The live-notification FIFOs: in Redis in a cluster, in the journal of the data directory in the
   * embedded default, in PostgreSQL for a single node on PostgreSQL.
   */
  public NotificationQueues notifications() {
    return notifications;
  }

  /** Each application's numbered presence updates, kept for an hour. */
  public AppUpdateLog updates() {
    return updates;
  }

  /** Users' devices and what each audience was last shown of them, shared by all nodes. */
  public PresenceStateStore presence() {
    return presence;
  }

  /**
   * Status updates decided and logged in batches ({@link RedisStatusBatches}): one Redis script
   * call per batch on one Redis; on a Redis Cluster, where a user's state and an application's log
   * live in different slots, one state call per user-slot batch, then one log call per application
   * slot. {@code fanout} is the gateway's: who sees a change, and its publisher. {@code null} in
   * the embedded default, where the state store and the gateway's fan-out are called one after the
   * other.
   */
  public StatusBatches statusBatches(StatusBatches.Fanout fanout) {
    if (redis == null
        || !(presence instanceof RedisPresenceStateStore state)
        || !(updates instanceof RedisAppUpdateLog log)) {
      return null;
    }
    return new RedisStatusBatches(redis, state, log, fanout, config.redis().decideOnNode());
  }

  /** The gateway nodes' leases. */
  public NodeRegistry nodes() {
    return nodes;
  }

  /**
   * Values one node works out for the others to reuse (in Redis in a cluster; nothing shared in the
   * embedded default).
   */
  public SharedValues shared() {
    return shared;
  }

  /** Each application's webhook sender lease and cursor. */
  public WebhookState webhooks() {
    return webhooks;
  }

  /**
   * Token buckets called {@code name}, one per key, shared by every node: in Redis in a cluster, in
   * this process in the embedded default.
   */
  public TokenBuckets tokenBuckets(String name, double perSecond, int burst) {
    return redis == null
        ? new LocalTokenBuckets(perSecond, burst, MAX_BUCKET_KEYS)
        : new RedisTokenBuckets(redis, name, perSecond, burst, MAX_BUCKET_KEYS);
  }

  /**
   * Connection counts per key across every node: in Redis in a cluster, where a node's counts lapse
   * {@code lease} after it stops renewing them; in this process in the embedded default. Closed
   * with the store.
   */
  public ConnectionCounts connectionCounts(java.time.Duration lease) {
    ConnectionCounts c =
        redis == null ? new LocalConnectionCounts() : new RedisConnectionCounts(redis, lease);
    connectionCounts.add(c);
    return c;
  }

  /** The Redis backend, or {@code null} in the embedded default. */
  public RedisBackend redis() {
    return redis;
  }

  /** Tells {@code latency} how long each database call and Redis command takes from now on. */
  public void observeLatency(org.presence.store.metrics.StoreLatency latency) {
    persistence.db().observe(latency);
    if (redis != null) {
      redis.observe(latency);
    }
  }

  /**
   * Asks each backend for a sign of life. The map holds one entry per backend ({@code database},
   * {@code bus}, and {@code notifications} on the embedded default, whose queues are a journal of
   * their own) with {@code null} when it answered, or the reason it did not.
   */
  public CompletionStage<Map<String, String>> health() {
    CompletableFuture<String> db = check(persistence.ping());
    CompletableFuture<String> b = check(bus.ping());
    return db.thenCombine(
        b,
        (d, x) -> {
          Map<String, String> m = new LinkedHashMap<>();
          m.put("database", d);
          m.put("bus", x);
          if (notifications instanceof JournalNotificationQueues journal) {
            m.put("notifications", journal.problem());
          }
          return m;
        });
  }

  private static CompletableFuture<String> check(CompletionStage<Void> ping) {
    return ping.toCompletableFuture()
        .orTimeout(HEALTH_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .handle(
            (v, e) ->
                e == null
                    ? null
                    : org.presence.store.redis.RedisErrors.full(e)
                        ? org.presence.store.redis.RedisErrors.FULL
                        : rootMessage(e));
  }

  @Override
  public void close() {
    connectionCounts.forEach(ConnectionCounts::close);
    presence.close();
    if (notifications instanceof JournalNotificationQueues journal) {
      journal.close();
    }
    bus.close();
    if (redis != null) {
      redis.close();
    }
    persistence.close();
  }
}
