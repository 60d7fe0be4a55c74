package org.presence.store.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.presence.store.config.StoreConfig;
import org.presence.store.metrics.StoreLatency;

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
 * <p>With {@link StoreConfig.RedisConfig#ackReplicas()} above zero there is a third connection,
 * {@link #acknowledged()}, for the writes that must reach replicas before they are acknowledged:
 * {@code WAIT} blocks the connection it runs on, so it does not run on the shared one.
 */
public final class RedisBackend implements AutoCloseable {
  /** Keys are strings; values are raw bytes (JSON written by the codecs). */
  public static final RedisCodec<String, byte[]> CODEC =
      RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  /** Longest wait between two reconnect attempts while Redis is unreachable. */
  public static final Duration RECONNECT_DELAY_MAX = Duration.ofSeconds(2);

  private final ClientResources resources;
  private final RedisClient client;
  private final StatefulRedisConnection<String, byte[]> commands;
  private final StatefulRedisPubSubConnection<String, byte[]> pubsub;
  private final StatefulRedisConnection<String, byte[]> acknowledged;
  private final AtomicLong acknowledgedDisconnects;
  private final StoreConfig.RedisConfig config;
  private final RedisKeys keys;

  private RedisBackend(
      ClientResources resources,
      RedisClient client,
      StatefulRedisConnection<String, byte[]> commands,
      StatefulRedisPubSubConnection<String, byte[]> pubsub,
      StatefulRedisConnection<String, byte[]> acknowledged,
      AtomicLong acknowledgedDisconnects,
      StoreConfig.RedisConfig config) {
    this.resources = resources;
    this.client = client;
    this.commands = commands;
    this.pubsub = pubsub;
    this.acknowledged = acknowledged;
    this.acknowledgedDisconnects = acknowledgedDisconnects;
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

  public static RedisBackend connect(StoreConfig.RedisConfig config) {
    return connect(config, null);
  }

  /** {@code tracing}: spans for every command (Lettuce's tracing hook), or {@code null}. */
  public static RedisBackend connect(
      StoreConfig.RedisConfig config, org.presence.store.metrics.StoreTracing tracing) {
    RedisURI uri = RedisURI.create(config.url());
    uri.setTimeout(config.commandTimeout());
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
    RedisClient client = RedisClient.create(resources, uri);
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()))
            .build());
    AtomicLong disconnects = new AtomicLong();
    try {
      StatefulRedisConnection<String, byte[]> commands = client.connect(CODEC);
      StatefulRedisPubSubConnection<String, byte[]> pubsub = client.connectPubSub(CODEC);
      StatefulRedisConnection<String, byte[]> acknowledged = null;
      if (config.ackReplicas() > 0) {
        StatefulRedisConnection<String, byte[]> ack = client.connect(CODEC);
        // Counts the losses of this connection. With REJECT_COMMANDS Lettuce fails the commands
        // in flight when it is lost, but a WAIT that did reach a new connection (sent just after
        // a reconnect, or resent by Lettuce) would say nothing about the writes of the old one:
        // a write and its WAIT count only when no loss came between them.
        ack.addListener(
            new RedisConnectionStateListener() {
              @Override
              public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
                disconnects.incrementAndGet();
              }
            });
        acknowledged = ack;
      }
      RedisBackend backend =
          new RedisBackend(resources, client, commands, pubsub, acknowledged, disconnects, config);
      backend.recorder = recorder;
      return backend;
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      resources.shutdown(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** The shared command connection (thread-safe, pipelined). */
  public StatefulRedisConnection<String, byte[]> commands() {
    return commands;
  }

  /** The pub/sub connection. */
  public StatefulRedisPubSubConnection<String, byte[]> pubsub() {
    return pubsub;
  }

  /**
   * The connection for writes acknowledged only once {@link StoreConfig.RedisConfig#ackReplicas()}
   * replicas have them ({@code WAIT} after the write, on this connection), or {@code null} when
   * that setting is 0.
   */
  public StatefulRedisConnection<String, byte[]> acknowledged() {
    return acknowledged;
  }

  /**
   * How many times {@link #acknowledged()} has lost its server so far: a write and its {@code WAIT}
   * prove something only when this did not change between them.
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
    commands.close();
    if (acknowledged != null) {
      acknowledged.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    resources.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
