package org.presence.store.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.protocol.ConnectionIntent;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import javax.net.ssl.TrustManagerFactory;
import org.presence.protocol.id.SecureRandoms;
import org.presence.store.config.StoreConfig;
import org.presence.store.metrics.StoreLatency;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's Redis client: one {@link RedisClient} with shared resources, one multiplexed command
 * connection and one pub/sub connection, used by the bus and the Redis-backed stores.
 *
 * <p>Commands fail at once while Redis is unreachable ({@code REJECT_COMMANDS}), so callers answer
 * a temporary error instead of queueing without bound; the client reconnects by itself and the
 * pub/sub connection re-subscribes its channels.
 *
 * <p>With a {@code redis-sentinel://} URL Lettuce asks the sentinels for the primary's address at
 * every (re)connect, so both connections follow a failover by themselves once the sentinels have
 * promoted a replica (the pub/sub connection re-subscribing on the new primary).
 *
 * <p>With a {@code redis-cluster://[[user:]password@]host:port[,host:port...]} URL (seed nodes;
 * {@code rediss-cluster://} for TLS) it is a {@link RedisClusterClient} instead: commands go to the
 * primary of their key's slot (every key names a hash tag, {@link RedisKeys}, so each script
 * touches one slot), the client learns the topology from the seeds, refreshes it periodically and
 * as soon as a node answers {@code MOVED}/{@code ASK} or disconnects (a replica promoted after its
 * primary died), and the bus uses sharded pub/sub ({@link #cluster()}). The stores are typed to
 * {@link RedisClusterAsyncCommands}, which the connections of both clients implement.
 *
 * <p>With {@link StoreConfig.RedisConfig#ackReplicas()} above zero there is a third connection for
 * the writes that must reach replicas before they are acknowledged ({@link #acknowledgedOn}):
 * {@code WAIT} blocks the connection it runs on, so it does not run on the shared one. On a Redis
 * Cluster it is a second cluster connection, whose own connection to each primary carries such a
 * write and then its {@code WAIT} ({@code WAIT} covers the writes of its connection to one server).
 */
public final class RedisBackend implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RedisBackend.class);

  /** Keys are strings; values are raw bytes (JSON written by the codecs). */
  public static final RedisCodec<String, byte[]> CODEC =
      RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  /** The scheme of a Redis Cluster URL: seed nodes, comma-separated. */
  public static final String CLUSTER_SCHEME = "redis-cluster://";

  /** The scheme of a Redis Cluster URL over TLS (as {@code rediss://} is to {@code redis://}). */
  public static final String CLUSTER_TLS_SCHEME = "rediss-cluster://";

  /** The form of a Redis Cluster URL, for error messages. */
  public static final String CLUSTER_FORM =
      "redis-cluster://host:port[,host:port...], with [[user:]password@] before the first host,"
          + " rediss-cluster:// for TLS";

  /** How often a cluster client reloads the topology even when nothing suggested a change. */
  public static final Duration CLUSTER_REFRESH_PERIOD = Duration.ofSeconds(30);

  /** Longest wait between two reconnect attempts while Redis is unreachable. */
  public static final Duration RECONNECT_DELAY_MAX = Duration.ofSeconds(2);

  /** Lettuce's switch for its io_uring transport ({@code IOUringProvider}). */
  static final String IOURING_PROPERTY = "io.lettuce.core.iouring";

  static {
    // With both native transports on the class path, Lettuce uses epoll and warns so at every
    // connection it opens (a Redis Cluster's topology refreshes: a dozen lines a minute). io_uring
    // is
    // switched off, unless the operator set the property, before Lettuce reads it: the same epoll
    // transport, no warning.
    if (System.getProperty(IOURING_PROPERTY) == null) {
      System.setProperty(IOURING_PROPERTY, "false");
    }
  }

  private final ClientResources resources;
  private final AbstractRedisClient client;
  private final StatefulConnection<String, byte[]> connection;
  private final Commands commands;
  private final StatefulRedisPubSubConnection<String, byte[]> pubsub;
  private final StatefulConnection<String, byte[]> acknowledged;
  private final AtomicLong acknowledgedDisconnects;
  private final RedisConnectionStateListener countsAcknowledgedDisconnects;

  /**
   * The node connections of {@link #acknowledgedOn} watched for losses; weak: Lettuce drops some.
   */
  private final Set<StatefulConnection<?, ?>> acknowledgedNodes =
      Collections.newSetFromMap(new WeakHashMap<>());

  /** When {@link #refreshTopology} last asked for a reload (nanoTime), or 0. */
  private final AtomicLong lastRefresh = new AtomicLong();

  private final StoreConfig.RedisConfig config;
  private final RedisKeys keys;
  private final boolean cluster;

  private RedisBackend(
      ClientResources resources,
      AbstractRedisClient client,
      StatefulConnection<String, byte[]> connection,
      Commands commands,
      StatefulRedisPubSubConnection<String, byte[]> pubsub,
      StatefulConnection<String, byte[]> acknowledged,
      AtomicLong acknowledgedDisconnects,
      StoreConfig.RedisConfig config,
      boolean cluster) {
    this.cluster = cluster;
    this.resources = resources;
    this.client = client;
    this.connection = connection;
    this.commands = commands;
    this.pubsub = pubsub;
    this.acknowledged = acknowledged;
    this.acknowledgedDisconnects = acknowledgedDisconnects;
    this.countsAcknowledgedDisconnects = countingDisconnects(acknowledgedDisconnects);
    this.config = config;
    this.keys = new RedisKeys(config.keyPrefix());
  }

  /**
   * Connects both connections. Throws (an {@code IllegalArgumentException} for a bad URL, a {@code
   * RedisConnectionException} when unreachable) without retrying, so that a bad setting ends
   * start-up with a clear message.
   */
  /** Tells the {@link StoreLatency} in place each command's latency, as Lettuce measures it. */
  private static final class LatencyRecorder implements CommandLatencyRecorder {
    volatile StoreLatency latency = StoreLatency.NONE;

    @Override
    public void recordCommandLatency(
        SocketAddress local,
        SocketAddress remote,
        ProtocolKeyword commandType,
        long firstResponseLatency,
        long completionLatency) {
      latency.redis(commandType.toString(), completionLatency);
    }
  }

  private LatencyRecorder recorder;

  /** Tells {@code latency} how long each Redis command takes from now on. */
  public void observe(StoreLatency latency) {
    if (recorder != null) {
      recorder.latency = latency;
    }
  }

  /**
   * The command connection, typed to the commands one Redis and a Redis Cluster share: thread-safe
   * and pipelined; on a cluster each command goes to the primary of its key's slot.
   */
  public record Commands(
      RedisClusterAsyncCommands<String, byte[]> async, RedisClusterCommands<String, byte[]> sync) {}

  /**
   * Whether {@code url} names a Redis Cluster ({@value #CLUSTER_SCHEME} or {@value
   * #CLUSTER_TLS_SCHEME}).
   */
  public static boolean isClusterUrl(String url) {
    String lower = url.trim().toLowerCase(Locale.ROOT);
    return lower.startsWith(CLUSTER_SCHEME) || lower.startsWith(CLUSTER_TLS_SCHEME);
  }

  /**
   * The seed nodes of a Redis Cluster URL ({@value #CLUSTER_FORM}), each with the URL's user and
   * password (percent-encoded in the URL: {@code %40} for {@code @}; a password alone when there is
   * no {@code :}, as in {@code redis://}) and TLS for {@value #CLUSTER_TLS_SCHEME}; Lettuce gives
   * the nodes it learns from the seeds the same settings. Throws an {@code
   * IllegalArgumentException} naming the expected form, with the password left out, for anything
   * else: no node, a node without a port or with a bad one, a path or query.
   */
  public static List<RedisURI> clusterSeeds(String url) {
    String trimmed = url.trim();
    boolean tls = trimmed.toLowerCase(Locale.ROOT).startsWith(CLUSTER_TLS_SCHEME);
    String rest = trimmed.substring(tls ? CLUSTER_TLS_SCHEME.length() : CLUSTER_SCHEME.length());
    String user = null;
    char[] password = null;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      String info = rest.substring(0, at);
      rest = rest.substring(at + 1);
      int colon = info.indexOf(':');
      String u = colon < 0 ? "" : decode(info.substring(0, colon));
      String pw = decode(colon < 0 ? info : info.substring(colon + 1));
      if (pw == null || u == null || pw.isEmpty()) {
        rest = "";
      } else {
        user = u.isEmpty() ? null : u;
        password = pw.toCharArray();
      }
    }
    List<RedisURI> seeds = new ArrayList<>();
    if (!rest.isEmpty() && !rest.endsWith(",")) {
      for (String node : rest.split(",", -1)) {
        int colon = node.lastIndexOf(':');
        if (colon <= 0
            || colon == node.length() - 1
            || !node.substring(colon + 1).matches("\\d{1,5}")) {
          seeds.clear();
          break;
        }
        int port = Integer.parseInt(node.substring(colon + 1));
        String host = node.substring(0, colon);
        if (port < 1 || port > 65535 || !host.matches("[A-Za-z0-9.\\-_]+|\\[[0-9A-Fa-f:.]+\\]")) {
          seeds.clear();
          break;
        }
        RedisURI.Builder seed =
            RedisURI.builder().withHost(host.replace("[", "").replace("]", "")).withPort(port);
        if (password != null) {
          if (user == null) {
            seed.withPassword(password);
          } else {
            seed.withAuthentication(user, password);
          }
        }
        seeds.add(seed.withSsl(tls).build());
      }
    }
    if (seeds.isEmpty()) {
      throw new IllegalArgumentException(
          "unparsable Redis Cluster URL: "
              + StoreConfig.RedisConfig.redact(url)
              + " (the form is "
              + CLUSTER_FORM
              + ")");
    }
    return seeds;
  }

  /** {@code s} with its percent-escapes decoded (UTF-8), or {@code null} when one is malformed. */
  private static String decode(String s) {
    try {
      return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * The TLS settings: the PEM certificates of {@link StoreConfig.RedisConfig#tlsCaFile()} as the
   * only ones trusted, or the JVM's trusted authorities when it is empty. Both are read here, once,
   * and the generator is seeded here: Lettuce builds each connection's TLS context on its I/O
   * thread, where reading a file (given a file, it would read it at every connection, and the JDK's
   * default generator reads /dev/urandom) must not happen.
   */
  private static SslOptions sslOptions(StoreConfig.RedisConfig config) {
    try {
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (config.tlsCaFile().isEmpty()) {
        trust.init((KeyStore) null);
      } else {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = Files.newInputStream(Path.of(config.tlsCaFile()))) {
          int i = 0;
          for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            store.setCertificateEntry("ca-" + i++, c);
          }
          if (i == 0) {
            throw new CertificateException("no certificate");
          }
        }
        trust.init(store);
      }
      // Lettuce makes each connection's TLS context on its I/O thread, and the JDK's default
      // generator reads /dev/urandom there: a generator of its own, seeded once here.
      SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
      byte[] seed = new byte[32];
      SecureRandoms.current().nextBytes(seed);
      random.setSeed(seed);
      return SslOptions.builder()
          .jdkSslProvider()
          .trustManager(trust)
          .sslContext(b -> b.secureRandom(random))
          .build();
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(
          "cannot read the certificates of store.redis.tls-ca-file "
              + config.tlsCaFile()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** Whether any of {@code uris} speaks TLS. */
  private static boolean tls(List<RedisURI> uris) {
    for (RedisURI u : uris) {
      if (u.isSsl() || tls(u.getSentinels())) {
        return true;
      }
    }
    return false;
  }

  public static RedisBackend connect(StoreConfig.RedisConfig config) {
    return connect(config, null);
  }

  /** {@code tracing}: spans for every command (Lettuce's tracing hook), or {@code null}. */
  public static RedisBackend connect(
      StoreConfig.RedisConfig config, org.presence.store.metrics.StoreTracing tracing) {
    boolean cluster = isClusterUrl(config.url());
    List<RedisURI> seeds =
        cluster ? clusterSeeds(config.url()) : List.of(RedisURI.create(config.url()));
    for (RedisURI uri : seeds) {
      uri.setTimeout(config.commandTimeout());
    }
    LatencyRecorder recorder = new LatencyRecorder();
    DefaultClientResources.Builder builder = DefaultClientResources.builder();
    if (tracing != null) {
      builder.tracing(new RedisTracing(tracing));
    }
    ClientResources resources =
        builder
            .commandLatencyRecorder(recorder)
            .ioThreadPoolSize(2)
            .computationThreadPoolSize(2)
            // Reconnect attempts from 100 ms, doubling up to 2 s (Lettuce's default grows to 30 s):
            // a node resumes within about two seconds of Redis coming back.
            .reconnectDelay(
                Delay.exponential(
                    Duration.ofMillis(100), RECONNECT_DELAY_MAX, 2, TimeUnit.MILLISECONDS))
            .build();
    SslOptions ssl;
    try {
      ssl = tls(seeds) ? sslOptions(config) : SslOptions.create();
    } catch (RuntimeException e) {
      resources.shutdown(0, 1, TimeUnit.SECONDS);
      throw e;
    }
    if (cluster) {
      return connectCluster(config, seeds, resources, recorder, ssl);
    }
    RedisURI uri = seeds.get(0);
    RedisClient client = RedisClient.create(resources, uri);
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()))
            .sslOptions(ssl)
            .build());
    AtomicLong disconnects = new AtomicLong();
    try {
      StatefulRedisConnection<String, byte[]> commands = client.connect(CODEC);
      refuseClusterNode(commands);
      Commands typed = new Commands(commands.async(), commands.sync());
      StatefulRedisPubSubConnection<String, byte[]> pubsub = client.connectPubSub(CODEC);
      StatefulRedisConnection<String, byte[]> acknowledged = null;
      if (config.ackReplicas() > 0) {
        StatefulRedisConnection<String, byte[]> ack = client.connect(CODEC);
        ack.addListener(countingDisconnects(disconnects));
        acknowledged = ack;
      }
      RedisBackend backend =
          new RedisBackend(
              resources, client, commands, typed, pubsub, acknowledged, disconnects, config, false);
      backend.recorder = recorder;
      pubsub.addListener(backend.pubsubReconnects.watcher(name -> true));
      return backend;
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      resources.shutdown(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  /**
   * A node of a Redis Cluster named by a plain redis:// URL answers PING and AUTH but redirects
   * (MOVED) most keys: refused here, at connect, with the URL form to use. A server whose user may
   * not run INFO is taken as it is.
   */
  private static void refuseClusterNode(StatefulRedisConnection<String, byte[]> commands) {
    String info;
    try {
      info = commands.sync().info("cluster");
    } catch (RuntimeException e) {
      return;
    }
    if (info != null && info.contains("cluster_enabled:1")) {
      commands.close();
      throw new IllegalStateException(
          "this server is a Redis Cluster node (cluster_enabled:1): name the cluster with"
              + " redis-cluster://host:port[,host:port...] (rediss-cluster:// for TLS)");
    }
  }

  private static RedisBackend connectCluster(
      StoreConfig.RedisConfig config,
      List<RedisURI> seeds,
      ClientResources resources,
      LatencyRecorder recorder,
      SslOptions ssl) {
    RedisClusterClient client = RedisClusterClient.create(resources, seeds);
    List<Consumer<TopologyChange>> topologyListeners = new CopyOnWriteArrayList<>();
    PubSubReconnects pubsubReconnects = new PubSubReconnects();
    client.setOptions(
        ClusterClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()))
            .sslOptions(ssl)
            // A failover shows as MOVED answers and lost connections: reload the topology at once
            // on those (at most once a second), and every CLUSTER_REFRESH_PERIOD in any case.
            .topologyRefreshOptions(
                ClusterTopologyRefreshOptions.builder()
                    .enablePeriodicRefresh(CLUSTER_REFRESH_PERIOD)
                    .enableAllAdaptiveRefreshTriggers()
                    .adaptiveRefreshTriggersTimeout(Duration.ofSeconds(1))
                    .build())
            .build());
    try {
      StatefulRedisClusterConnection<String, byte[]> commands = client.connect(CODEC);
      // Lettuce connects to each primary on first use, and REJECT_COMMANDS fails the commands that
      // would wait for that: connect to every primary now, and to a new one (a promoted replica) as
      // soon as a topology refresh shows it.
      for (RedisClusterNode node : commands.getPartitions()) {
        if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
          commands.getConnection(
              node.getUri().getHost(), node.getUri().getPort(), ConnectionIntent.WRITE);
        }
      }
      // Sharded subscriptions live on the connection to their slot's primary: the same.
      StatefulRedisClusterPubSubConnection<String, byte[]> pubsub = client.connectPubSub(CODEC);
      pubsub.setNodeMessagePropagation(true);
      for (RedisClusterNode node : commands.getPartitions()) {
        if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
          String host = node.getUri().getHost();
          int port = node.getUri().getPort();
          pubsubReconnects.watch(pubsub.getConnection(host, port), host + ":" + port, commands);
        }
      }
      resources
          .eventBus()
          .get()
          .filter(e -> e instanceof ClusterTopologyChangedEvent)
          .subscribe(
              e -> {
                ClusterTopologyChangedEvent changed = (ClusterTopologyChangedEvent) e;
                for (RedisClusterNode node : changed.after()) {
                  if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
                    String host = node.getUri().getHost();
                    int port = node.getUri().getPort();
                    commands.getConnectionAsync(host, port, ConnectionIntent.WRITE);
                    pubsub
                        .getConnectionAsync(host, port)
                        .thenAccept(c -> pubsubReconnects.watch(c, host + ":" + port, commands));
                  }
                }
                TopologyChange change = TopologyChange.between(changed.before(), changed.after());
                for (Consumer<TopologyChange> r : topologyListeners) {
                  r.accept(change);
                }
              });
      // Its connections to the primaries are made on first use, each watched for losses then.
      StatefulRedisClusterConnection<String, byte[]> acknowledged =
          config.ackReplicas() > 0 ? client.connect(CODEC) : null;
      Commands typed = new Commands(commands.async(), commands.sync());
      RedisBackend backend =
          new RedisBackend(
              resources,
              client,
              commands,
              typed,
              pubsub,
              acknowledged,
              new AtomicLong(),
              config,
              true);
      backend.topologyListeners = topologyListeners;
      backend.pubsubReconnects = pubsubReconnects;
      backend.recorder = recorder;
      return backend;
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      resources.shutdown(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  private List<Consumer<TopologyChange>> topologyListeners = List.of();

  private PubSubReconnects pubsubReconnects = new PubSubReconnects();

  /**
   * Runs {@code listener} (on a Lettuce thread; it must not block) whenever a pub/sub connection is
   * back after a loss (Redis restarted, the network cut, Redis closing a subscriber that fell
   * behind its output buffer limit), with a test of which channels (Redis names) lived on it: every
   * channel on one Redis, those of the slots the reconnected primary holds on a Redis Cluster.
   * Lettuce subscribes them again by itself (on a cluster node whose channels are in several slots
   * its one {@code SSUBSCRIBE} is refused with {@code CROSSSLOT}, and it logs a warning); what was
   * published while the connection was down is lost.
   */
  public void onPubSubReconnected(Consumer<Predicate<String>> listener) {
    pubsubReconnects.listeners.add(listener);
  }

  /** The listeners of {@link #onPubSubReconnected} and the connections watched for them. */
  private static final class PubSubReconnects {
    final List<Consumer<Predicate<String>>> listeners = new CopyOnWriteArrayList<>();

    /** Cluster node connections already watched (a topology change hands them out again). */
    private final Set<Object> watched = Collections.newSetFromMap(new WeakHashMap<>());

    RedisConnectionStateListener watcher(Predicate<String> lives) {
      return new RedisConnectionStateListener() {
        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> c, SocketAddress address) {
          for (Consumer<Predicate<String>> l : listeners) {
            try {
              l.accept(lives);
            } catch (RuntimeException e) {
              LOG.warn("a listener of a pub/sub reconnect failed", e);
            }
          }
        }
      };
    }

    /**
     * Watches a cluster node's pub/sub connection to {@code address} ("host:port", the client's key
     * for its node connections): its channels are those whose slot's primary is at that address in
     * the topology when it reconnects.
     */
    void watch(
        StatefulRedisPubSubConnection<String, byte[]> c,
        String address,
        StatefulRedisClusterConnection<String, byte[]> cluster) {
      synchronized (watched) {
        if (!watched.add(c)) {
          return;
        }
      }
      c.addListener(
          watcher(
              name -> {
                RedisClusterNode primary =
                    cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(name));
                return primary != null
                    && primary.getUri() != null
                    && address.equals(
                        primary.getUri().getHost() + ":" + primary.getUri().getPort());
              }));
    }
  }

  /**
   * Runs {@code listener} (on a Lettuce thread; it must not block) whenever the client learns that
   * the cluster's topology changed, a replica promoted for example, with the slots whose primary
   * changed. Nothing on one Redis.
   */
  public void onTopologyChange(Consumer<TopologyChange> listener) {
    if (cluster) {
      topologyListeners.add(listener);
    }
  }

  /**
   * The number of shards a command that must visit every shard (a {@code SCAN} of keys) goes
   * through: the primaries holding slots on a Redis Cluster, 1 on one Redis.
   */
  public int shards() {
    return cluster ? primaries().size() : 1;
  }

  /**
   * The command connection of shard {@code index} (0 to {@link #shards()} - 1, primaries ordered by
   * their first slot), or a failed stage when the topology changed under the caller.
   */
  public CompletionStage<RedisClusterAsyncCommands<String, byte[]>> shard(int index) {
    if (!cluster) {
      return CompletableFuture.completedFuture(commands.async());
    }
    List<RedisClusterNode> primaries = primaries();
    if (index < 0 || index >= primaries.size()) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("no shard " + index + " of " + primaries.size()));
    }
    RedisClusterNode node = primaries.get(index);
    @SuppressWarnings("unchecked")
    StatefulRedisClusterConnection<String, byte[]> c =
        (StatefulRedisClusterConnection<String, byte[]>) connection;
    return c.getConnectionAsync(
            node.getUri().getHost(), node.getUri().getPort(), ConnectionIntent.WRITE)
        .thenApply(StatefulRedisConnection::async);
  }

  /**
   * The command connection of the Redis Cluster node {@code nodeId} ({@link #primaryOf}): commands
   * sent on it are not redirected, a {@code MOVED} or {@code ASK} comes back as an error. Fails
   * when the topology names no such node (any more).
   */
  public CompletionStage<RedisClusterAsyncCommands<String, byte[]>> node(String nodeId) {
    @SuppressWarnings("unchecked")
    StatefulRedisClusterConnection<String, byte[]> c =
        (StatefulRedisClusterConnection<String, byte[]>) connection;
    try {
      return c.getConnectionAsync(nodeId, ConnectionIntent.WRITE)
          .thenApply(StatefulRedisConnection::async);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * On a Redis Cluster, one slot of each primary holding slots as this client last saw the topology
   * (its first); empty on one Redis. A key in such a slot is written on that primary.
   */
  public List<Integer> primarySlots() {
    if (!cluster) {
      return List.of();
    }
    return primaries().stream().map(n -> n.getSlots().get(0)).toList();
  }

  private List<RedisClusterNode> primaries() {
    @SuppressWarnings("unchecked")
    StatefulRedisClusterConnection<String, byte[]> c =
        (StatefulRedisClusterConnection<String, byte[]>) connection;
    List<RedisClusterNode> out = new ArrayList<>();
    for (RedisClusterNode node : c.getPartitions()) {
      if (node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.getSlots().isEmpty()) {
        out.add(node);
      }
    }
    out.sort(Comparator.comparingInt(n -> n.getSlots().get(0)));
    return out;
  }

  /** The shared command connection (thread-safe, pipelined). */
  public Commands commands() {
    return commands;
  }

  /**
   * Whether this is a Redis Cluster: the bus then publishes and subscribes with sharded pub/sub
   * ({@code SPUBLISH}/{@code SSUBSCRIBE}), and a batch of keys of many slots goes as one call per
   * slot.
   */
  public boolean cluster() {
    return cluster;
  }

  /**
   * On a Redis Cluster, the id of the primary that holds {@code slot} as this client last saw the
   * topology (Lettuce refreshes it periodically and on redirections), or null when none is known or
   * this is not a cluster. A script call may touch keys of several slots held by one primary (see
   * {@code RedisNotificationQueues}); the primary checks that every key is its own.
   */
  public String primaryOf(int slot) {
    if (!cluster) {
      return null;
    }
    @SuppressWarnings("unchecked")
    StatefulRedisClusterConnection<String, byte[]> c =
        (StatefulRedisClusterConnection<String, byte[]>) connection;
    RedisClusterNode node = c.getPartitions().getMasterBySlot(slot);
    return node == null ? null : node.getNodeId();
  }

  /**
   * The pub/sub connection, the bus's alone: its {@code RedisPresenceBus} ends every subscription
   * on it that the bus does not hold under this backend's key prefix.
   */
  public StatefulRedisPubSubConnection<String, byte[]> pubsub() {
    return pubsub;
  }

  /**
   * Counts the losses of a connection for acknowledged writes. With REJECT_COMMANDS Lettuce fails
   * the commands in flight when it is lost, but a {@code WAIT} that did reach a new connection
   * (sent just after a reconnect, or resent by Lettuce) would say nothing about the writes of the
   * old one: a write and its {@code WAIT} count only when no loss came between them.
   */
  private static RedisConnectionStateListener countingDisconnects(AtomicLong disconnects) {
    return new RedisConnectionStateListener() {
      @Override
      public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
        disconnects.incrementAndGet();
      }
    };
  }

  /**
   * Where a write that {@link StoreConfig.RedisConfig#ackReplicas()} replicas must confirm goes,
   * and its {@code WAIT} right after it: on one Redis the connection kept for such writes; on a
   * Redis Cluster that cluster connection's own connection to the primary this client's topology
   * names for {@code key}'s slot. A {@code WAIT} covers the writes made on its connection to its
   * server, so the write must not be routed anywhere else: on a node's own connection a redirection
   * ({@code MOVED}, {@code ASK}) comes back as an error ({@link #refreshTopology} then). Fails when
   * that setting is 0 or the topology names no primary for the slot.
   */
  @SuppressWarnings("unchecked")
  public CompletionStage<RedisClusterAsyncCommands<String, byte[]>> acknowledgedOn(String key) {
    if (acknowledged == null) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("store.redis.ack-replicas is 0"));
    }
    if (!cluster) {
      return CompletableFuture.completedFuture(
          ((StatefulRedisConnection<String, byte[]>) acknowledged).async());
    }
    String primary = primaryOf(SlotHash.getSlot(key));
    if (primary == null) {
      return CompletableFuture.failedFuture(
          new RedisException("no primary known for the slot of " + key));
    }
    try {
      return ((StatefulRedisClusterConnection<String, byte[]>) acknowledged)
          .getConnectionAsync(primary, ConnectionIntent.WRITE)
          .thenApply(
              c -> {
                // Under the lock until the listener is on: no caller writes on a connection whose
                // losses are not counted yet.
                synchronized (acknowledgedNodes) {
                  if (acknowledgedNodes.add(c)) {
                    c.addListener(countsAcknowledgedDisconnects);
                  }
                }
                return c.async();
              });
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * On a Redis Cluster, reloads the topology now, in the background (after a {@code MOVED} answered
   * on a node's own connection, which Lettuce does not see), at most once a second however many
   * callers ask; nothing on one Redis.
   */
  public void refreshTopology() {
    if (!cluster) {
      return;
    }
    long now = System.nanoTime();
    long last = lastRefresh.get();
    if ((last == 0 || now - last >= TimeUnit.SECONDS.toNanos(1))
        && lastRefresh.compareAndSet(last, now)) {
      ((RedisClusterClient) client).refreshPartitionsAsync();
    }
  }

  /**
   * How many times a connection of {@link #acknowledgedOn} has lost its server so far: a write and
   * its {@code WAIT} prove something only when this did not change between them.
   */
  public long acknowledgedDisconnects() {
    return acknowledgedDisconnects.get();
  }

  /** The settings this backend was opened with. */
  public StoreConfig.RedisConfig config() {
    return config;
  }

  /** Key and channel names. */
  public RedisKeys keys() {
    return keys;
  }

  @Override
  public void close() {
    pubsub.close();
    connection.close();
    if (acknowledged != null) {
      acknowledged.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    resources.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
