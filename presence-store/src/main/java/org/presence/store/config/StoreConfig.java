package org.presence.store.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Where Presence keeps its data and how nodes talk to each other.
 *
 * <p>With no database URL the node uses the embedded database (an H2 file under {@link #dataDir});
 * with no Redis URL it uses the in-process bus. Both set is the cluster configuration.
 *
 * @param dataDir directory for the embedded database file and other node-local state
 * @param database PostgreSQL settings; {@link DatabaseConfig#embedded()} when none is configured
 * @param redis Redis settings; {@link RedisConfig#local()} when none is configured
 * @param dbThreads threads (and pooled connections) for database work; bounded
 * @param dbQueue database tasks that may wait for a thread before new ones are refused
 * @param updateLogMaxPerApp most updates an application's log keeps (within its hour): the log
 *     lives in memory (embedded) or in Redis, and this bounds it whatever the rate
 * @param queueRetention how long a notification queue nothing is pushed to is kept: in Redis its
 *     keys' expiry, set again at every push; without Redis the retention sweep's cutoff
 * @param maxQueuedPerApp most live notifications one application may have queued, over all its
 *     users ({@code notifications.max-queued-per-app}); the store refuses items beyond it
 */
public record StoreConfig(
    Path dataDir,
    DatabaseConfig database,
    RedisConfig redis,
    int dbThreads,
    int dbQueue,
    int updateLogMaxPerApp,
    Duration queueRetention,
    long maxQueuedPerApp) {
  /** The default bound of an application's update log. */
  public static final int DEFAULT_UPDATE_LOG_MAX = 100_000;

  /** The default retention of a notification queue nothing is pushed to. */
  public static final Duration DEFAULT_QUEUE_RETENTION = Duration.ofDays(30);

  /** With the default bound of an application's queued notifications. */
  public StoreConfig(
      Path dataDir,
      DatabaseConfig database,
      RedisConfig redis,
      int dbThreads,
      int dbQueue,
      int updateLogMaxPerApp,
      Duration queueRetention) {
    this(
        dataDir,
        database,
        redis,
        dbThreads,
        dbQueue,
        updateLogMaxPerApp,
        queueRetention,
        org.presence.store.queue.NotificationQueues.DEFAULT_MAX_QUEUED_PER_APP);
  }

  /** With the default retention of idle notification queues. */
  public StoreConfig(
      Path dataDir,
      DatabaseConfig database,
      RedisConfig redis,
      int dbThreads,
      int dbQueue,
      int updateLogMaxPerApp) {
    this(dataDir, database, redis, dbThreads, dbQueue, updateLogMaxPerApp, DEFAULT_QUEUE_RETENTION);
  }

  /** With the default update log bound. */
  public StoreConfig(
      Path dataDir, DatabaseConfig database, RedisConfig redis, int dbThreads, int dbQueue) {
    this(dataDir, database, redis, dbThreads, dbQueue, DEFAULT_UPDATE_LOG_MAX);
  }

  public StoreConfig {
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(redis, "redis");
    if (dbThreads < 1) {
      throw new IllegalArgumentException("dbThreads must be at least 1");
    }
    if (dbQueue < 1) {
      throw new IllegalArgumentException("dbQueue must be at least 1");
    }
    if (updateLogMaxPerApp < 1) {
      throw new IllegalArgumentException("updateLogMaxPerApp must be at least 1");
    }
    Objects.requireNonNull(queueRetention, "queueRetention");
    if (queueRetention.toMillis() < 1) {
      throw new IllegalArgumentException("queueRetention must be at least 1 ms");
    }
    if (maxQueuedPerApp < 1) {
      throw new IllegalArgumentException("maxQueuedPerApp must be at least 1");
    }
  }

  /** The embedded default under {@code dataDir}: H2 file and in-process bus. */
  public static StoreConfig embedded(Path dataDir) {
    return new StoreConfig(dataDir, DatabaseConfig.embedded(), RedisConfig.local(), 4, 1024);
  }

  /** Whether the database is the embedded file rather than PostgreSQL. */
  public boolean embeddedDatabase() {
    return database.url().isEmpty();
  }

  /** Whether the bus is in-process rather than Redis. */
  public boolean localBus() {
    return redis.url().isEmpty();
  }

  /**
   * PostgreSQL connection settings.
   *
   * @param url JDBC URL ({@code jdbc:postgresql://host:port/db}) or empty for the embedded database
   * @param user user name, or empty to take it from the URL
   * @param password password, or empty to take it from the URL
   * @param connectTimeout how long to wait for a connection before failing a request
   * @param schema schema to use and migrate (created when missing); tests use one per class
   */
  public record DatabaseConfig(
      String url, String user, String password, Duration connectTimeout, String schema) {
    public DatabaseConfig {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      Objects.requireNonNull(connectTimeout, "connectTimeout");
      Objects.requireNonNull(schema, "schema");
    }

    /** No PostgreSQL: the embedded database. */
    public static DatabaseConfig embedded() {
      return new DatabaseConfig("", "", "", Duration.ofSeconds(5), "public");
    }

    /** PostgreSQL at {@code url} in the {@code public} schema. */
    public static DatabaseConfig postgres(String url) {
      return new DatabaseConfig(url, "", "", Duration.ofSeconds(5), "public");
    }

    /** The same settings with another schema. */
    public DatabaseConfig withSchema(String newSchema) {
      return new DatabaseConfig(url, user, password, connectTimeout, newSchema);
    }

    /** Without the password, or the URL's, which may end up in a log. */
    @Override
    public String toString() {
      return "DatabaseConfig[url="
          + redact(url)
          + ", user="
          + user
          + ", password="
          + (password.isEmpty() ? "" : "***")
          + ", connectTimeout="
          + connectTimeout
          + ", schema="
          + schema
          + "]";
    }
  }

  /**
   * {@code text} (a Redis or PostgreSQL URL, or a message that may quote one) with the user and
   * password of every URL in it, and the value of every {@code password=} parameter, replaced by
   * {@code ***}: what logs, errors and the admin API may show. Up to the last {@code @} of a URL,
   * so that a password with an unencoded {@code /} or {@code @} is hidden too.
   */
  public static String redact(String text) {
    return text == null
        ? null
        : text.replaceAll("(?i)\\b([a-z][a-z0-9+.\\-]*://)\\S*@", "$1***@")
            .replaceAll("(?i)\\b(password=)[^&\\s]*", "$1***");
  }

  /**
   * Redis connection settings.
   *
   * @param url Redis URI ({@code redis://host:port/db}, or {@code
   *     redis-sentinel://host:port[,host:port...]/#master} to find the primary through Redis
   *     Sentinel) or empty for the in-process bus
   * @param keyPrefix prefix of every key and channel name, so that several deployments (or test
   *     classes) can share one Redis
   * @param commandTimeout how long a Redis command may take before it fails
   * @param ackReplicas replicas that must have a batch of notifications ({@code WAIT}) before it is
   *     acknowledged; 0 acknowledges once the primary has it
   * @param ackTimeout how long {@code WAIT} waits for those replicas before the batch fails; below
   *     {@code commandTimeout}
   * @param tlsCaFile a PEM file of the certificates a TLS Redis ({@code rediss://}, {@code
   *     rediss-sentinel://}, {@code rediss-cluster://}) is verified against, or empty for the JVM's
   *     trusted authorities
   * @param decideOnNode whether a node decides the status updates it can itself and has Redis only
   *     check and store them (RedisStatusBatches' NodeDecisions); false leaves every decision to
   *     Redis's script, as before (the first step of a rolling upgrade from a version whose script
   *     does not keep the hash's write token; docs/cluster.md)
   */
  public record RedisConfig(
      String url,
      String keyPrefix,
      Duration commandTimeout,
      int ackReplicas,
      Duration ackTimeout,
      String tlsCaFile,
      boolean decideOnNode) {
    /** Default of {@link #ackTimeout}. */
    public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofMillis(500);

    public RedisConfig {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(keyPrefix, "keyPrefix");
      Objects.requireNonNull(commandTimeout, "commandTimeout");
      Objects.requireNonNull(ackTimeout, "ackTimeout");
      Objects.requireNonNull(tlsCaFile, "tlsCaFile");
      if (ackReplicas < 0) {
        throw new IllegalArgumentException("ackReplicas must not be negative");
      }
      if (ackReplicas > 0 && (ackTimeout.isNegative() || ackTimeout.isZero())) {
        throw new IllegalArgumentException("ackTimeout must be longer than zero");
      }
    }

    /** The JVM's trusted authorities for TLS. */
    public RedisConfig(
        String url,
        String keyPrefix,
        Duration commandTimeout,
        int ackReplicas,
        Duration ackTimeout) {
      this(url, keyPrefix, commandTimeout, ackReplicas, ackTimeout, "", true);
    }

    /** Acknowledged once the primary has the write (no {@code WAIT}). */
    public RedisConfig(String url, String keyPrefix, Duration commandTimeout) {
      this(url, keyPrefix, commandTimeout, 0, DEFAULT_ACK_TIMEOUT);
    }

    /** No Redis: the in-process bus. */
    public static RedisConfig local() {
      return new RedisConfig("", "presence:", Duration.ofSeconds(2));
    }

    /** Redis at {@code url} with the default prefix. */
    public static RedisConfig redis(String url) {
      return new RedisConfig(url, "presence:", Duration.ofSeconds(2));
    }

    /** The same settings with another key prefix. */
    public RedisConfig withKeyPrefix(String prefix) {
      return new RedisConfig(
          url, prefix, commandTimeout, ackReplicas, ackTimeout, tlsCaFile, decideOnNode);
    }

    /** The same settings, acknowledging once {@code replicas} replicas have a write. */
    public RedisConfig withAckReplicas(int replicas, Duration timeout) {
      return new RedisConfig(
          url, keyPrefix, commandTimeout, replicas, timeout, tlsCaFile, decideOnNode);
    }

    /** The same settings, verifying a TLS Redis against the PEM certificates of {@code file}. */
    public RedisConfig withTlsCaFile(String file) {
      return new RedisConfig(
          url, keyPrefix, commandTimeout, ackReplicas, ackTimeout, file, decideOnNode);
    }

    /** The same settings; {@code decide} as {@link #decideOnNode}. */
    public RedisConfig withDecideOnNode(boolean decide) {
      return new RedisConfig(
          url, keyPrefix, commandTimeout, ackReplicas, ackTimeout, tlsCaFile, decide);
    }

    /** Without the URL's user and password, which may end up in a log. */
    @Override
    public String toString() {
      return "RedisConfig[url="
          + redactedUrl()
          + ", keyPrefix="
          + keyPrefix
          + ", commandTimeout="
          + commandTimeout
          + ", ackReplicas="
          + ackReplicas
          + ", ackTimeout="
          + ackTimeout
          + ", tlsCaFile="
          + tlsCaFile
          + "]";
    }

    /** The URL with its user and password replaced by {@code ***}. */
    public String redactedUrl() {
      return redact(url);
    }

    /** {@code text} redacted as {@link StoreConfig#redact} does. */
    public static String redact(String text) {
      return StoreConfig.redact(text);
    }
  }
}
