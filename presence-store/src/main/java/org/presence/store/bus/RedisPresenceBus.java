package org.presence.store.bus;

import io.lettuce.core.RedisException;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.TopologyChange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bus over Redis pub/sub. A node subscribes a Redis channel once, however many local listeners
 * it has on it, and unsubscribes when the last one leaves, so a message reaches only the nodes
 * holding an interested connection. Listeners run on Lettuce's I/O thread. When the pub/sub
 * connection comes back from a loss, the bus confirms its channels are subscribed again and runs
 * its resubscription listeners with them ({@link #onResubscribed}), on one Redis as on a cluster.
 *
 * <p>On a Redis Cluster the bus uses sharded pub/sub ({@code SPUBLISH}, {@code SSUBSCRIBE}, {@code
 * SUNSUBSCRIBE}; Redis 7): a channel lives on the shard of its slot ({@link RedisKeys#channel}: an
 * application's update channel is in the application's slot), so a message goes to that shard's
 * subscribers only instead of being broadcast over the cluster bus to every node. When the
 * cluster's topology changes (a replica promoted), the bus subscribes again the channels whose
 * slot's primary changed ({@link TopologyChange}), so they follow their slots to the new primaries;
 * meanwhile the update channels' consumers catch up from the log (their periodic position check).
 * When an operator moves a channel's slot to another primary, the old one ends its subscribers'
 * subscriptions ({@code SUNSUBSCRIBE} sent to them): the bus gathers the channels so ended for
 * {@link #LOST_GATHER_MS}, reloads the topology and subscribes them again in one round. The
 * resubscription listeners run after each try of a round with the channels it confirmed.
 */
public final class RedisPresenceBus implements PresenceBus {
  private static final Logger LOG = LoggerFactory.getLogger(RedisPresenceBus.class);

  private final RedisBackend redis;
  private final RedisKeys keys;
  private final boolean cluster;

  /** Guarded by itself for changes; read without locking by {@link #dispatch}. */
  private final Map<String, ChannelState> subscriptions = new ConcurrentHashMap<>();

  private final List<Consumer<Set<String>>> resubscribed = new CopyOnWriteArrayList<>();

  /** How long channels whose subscriptions Redis ended are gathered before one resubscription. */
  static final long LOST_GATHER_MS = 50;

  /** Channels whose subscriptions Redis ended, waiting for the next gathered resubscription. */
  private final Set<String> lost = ConcurrentHashMap.newKeySet();

  /** Whether a gathered resubscription of {@link #lost} is scheduled. */
  private final AtomicBoolean lostScheduled = new AtomicBoolean();

  public RedisPresenceBus(RedisBackend redis) {
    this.redis = redis;
    this.keys = redis.keys();
    this.cluster = redis.cluster();
    // A shard channel's subscription lives on its slot's primary: when a replica takes over,
    // subscribe again, which Lettuce sends to the new primary (a repeat on a live one changes
    // nothing).
    redis.onTopologyChange(change -> resubscribeWhere(change::moved));
    // Lettuce subscribes a reconnected connection's channels again by itself, but on a cluster node
    // with channels in several slots its one SSUBSCRIBE is refused (CROSSSLOT), and the listeners
    // must know when the channels are confirmed: the bus subscribes them again itself.
    redis.onPubSubReconnected(this::resubscribeWhere);
    redis
        .pubsub()
        .addListener(
            new RedisPubSubAdapter<>() {
              @Override
              public void message(String redisChannel, byte[] message) {
                dispatch(redisChannel, message);
              }

              @Override
              public void smessage(String redisChannel, byte[] message) {
                dispatch(redisChannel, message);
              }

              @Override
              public void subscribed(String redisChannel, long count) {
                endIfNotHeld(redisChannel);
              }

              @Override
              public void ssubscribed(String redisChannel, long count) {
                endIfNotHeld(redisChannel);
              }

              @Override
              public void sunsubscribed(String redisChannel, long count) {
                String channel = keys.unchannel(redisChannel);
                if (channel != null && subscriptions.containsKey(channel)) {
                  // Redis ended a subscription this node still holds: the channel's slot moved to
                  // another primary (a reshard), Lettuce's view of the topology may not show it
                  // before its periodic reload, and a slot's move ends all its channels at once.
                  lost.add(channel);
                  if (lostScheduled.compareAndSet(false, true)) {
                    CompletableFuture.delayedExecutor(LOST_GATHER_MS, TimeUnit.MILLISECONDS)
                        .execute(RedisPresenceBus.this::resubscribeLost);
                  }
                }
              }
            });
  }

  /**
   * Redis confirmed a subscription: when this node no longer holds the channel, ends it. Lettuce
   * keeps the channels Redis confirmed and subscribes them again after a reconnect, also one whose
   * unsubscribe failed while the connection was down: without this, the node would take that
   * channel's traffic for as long as the connection lives. This is why a backend's pub/sub
   * connection serves one bus only ({@link RedisBackend#pubsub}): a channel of anyone else's under
   * the same key prefix would be ended here.
   */
  private void endIfNotHeld(String redisChannel) {
    String channel = keys.unchannel(redisChannel);
    if (channel == null) {
      return;
    }
    synchronized (subscriptions) {
      if (subscriptions.containsKey(channel)) {
        return;
      }
      try {
        // Failing while disconnected (the stage fails; Lettuce rejects rather than queues): the
        // next confirmation after the reconnect comes back here.
        (cluster
                ? redis.pubsub().async().sunsubscribe(redisChannel)
                : redis.pubsub().async().unsubscribe(redisChannel))
            .exceptionally(e -> null);
      } catch (RedisException e) {
        // The same, should the call throw instead.
      }
    }
  }

  private void dispatch(String redisChannel, byte[] message) {
    String channel = keys.unchannel(redisChannel);
    ChannelState state = channel == null ? null : subscriptions.get(channel);
    if (state == null) {
      return;
    }
    for (RedisSubscription s : state.subs) {
      if (s.open) {
        try {
          s.listener.onMessage(channel, message);
        } catch (RuntimeException e) {
          LOG.error("bus listener on {} failed", channel, e);
        }
      }
    }
  }

  /**
   * Tries after which a channel that cannot be subscribed again is warned of (it is still tried).
   */
  private static final int RESUBSCRIBE_WARN = 20;

  private static final long RESUBSCRIBE_FIRST_MS = 100;
  private static final long RESUBSCRIBE_MAX_MS = 2_000;

  /** Set by {@link #close}: no more rounds, no more listeners. */
  private volatile boolean closed;

  /**
   * Subscribes again the channels whose Redis name {@code where} accepts: after a topology change
   * those whose slot's primary changed (a replica promoted, a slot moved; the others' subscriptions
   * stand, and a change that moved none of them makes no round, nor work for the listeners), after
   * a pub/sub connection came back those that lived on it.
   */
  private void resubscribeWhere(Predicate<String> where) {
    List<String> channels = new ArrayList<>();
    for (String channel : subscriptions.keySet()) {
      if (where.test(keys.channel(channel))) {
        channels.add(channel);
      }
    }
    if (!channels.isEmpty()) {
      resubscribe(channels, 1);
    }
  }

  /** Reloads the topology and subscribes the {@link #lost} channels again, in one round. */
  private void resubscribeLost() {
    lostScheduled.set(false);
    List<String> channels = new ArrayList<>(lost);
    lost.removeAll(channels);
    if (!channels.isEmpty()) {
      redis.refreshTopology();
      resubscribe(channels, 1);
    }
  }

  /**
   * Subscribes {@code channels} again, one command each (Redis refuses an {@code SSUBSCRIBE} of
   * channels in different slots, which is why Lettuce's own resubscription of a reconnected cluster
   * node fails), and runs the resubscription listeners with those confirmed. The others (their
   * slot's primary unreachable in this client's view, the failed one not replaced yet, or the
   * connection not back) are tried again after a growing pause (100 ms doubling to 2 s), the
   * topology reloaded before each try (at most once a second), for as long as this node holds them;
   * a warning is logged once they have failed {@link #RESUBSCRIBE_WARN} times.
   */
  private void resubscribe(List<String> channels, int attempt) {
    if (closed) {
      return;
    }
    List<String> failed = new CopyOnWriteArrayList<>();
    List<String> confirmed = new CopyOnWriteArrayList<>();
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (String channel : channels) {
      // Under the lock, so a channel's last unsubscribe cannot come between the check and the
      // SSUBSCRIBE and leave Redis subscribed with no listener here.
      synchronized (subscriptions) {
        if (!subscriptions.containsKey(channel)) {
          continue;
        }
        try {
          String name = keys.channel(channel);
          done.add(
              (cluster
                      ? redis.pubsub().async().ssubscribe(name)
                      : redis.pubsub().async().subscribe(name))
                  .toCompletableFuture()
                  .handle(
                      (v, e) -> {
                        if (e == null) {
                          confirmed.add(channel);
                        } else {
                          LOG.debug("resubscribing {} failed: {}", channel, e.toString());
                          failed.add(channel);
                        }
                        return null;
                      }));
        } catch (RedisException e) {
          LOG.debug("resubscribing {} failed", channel, e);
          failed.add(channel);
        }
      }
    }
    CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0]))
        .thenRun(
            () -> {
              if (closed) {
                return;
              }
              if (!confirmed.isEmpty()) {
                Set<String> round = Set.copyOf(confirmed);
                for (Consumer<Set<String>> r : resubscribed) {
                  try {
                    r.accept(round);
                  } catch (RuntimeException e) {
                    LOG.warn("a listener of the bus's resubscription failed", e);
                  }
                }
              }
              if (!failed.isEmpty()) {
                if (attempt == RESUBSCRIBE_WARN) {
                  LOG.warn(
                      "{} bus channels could not be subscribed again in {} tries; trying every {}"
                          + " ms",
                      failed.size(),
                      attempt,
                      RESUBSCRIBE_MAX_MS);
                }
                long pause =
                    Math.min(RESUBSCRIBE_MAX_MS, RESUBSCRIBE_FIRST_MS << Math.min(attempt - 1, 10));
                redis.refreshTopology();
                CompletableFuture.delayedExecutor(pause, TimeUnit.MILLISECONDS)
                    .execute(() -> resubscribe(List.copyOf(failed), attempt + 1));
              }
            });
  }

  @Override
  public void onResubscribed(Consumer<Set<String>> listener) {
    resubscribed.add(listener);
  }

  @Override
  public String kind() {
    return "redis";
  }

  @Override
  public CompletionStage<Void> publish(String channel, byte[] message) {
    String name = keys.channel(channel);
    return RedisErrors.call(
            () ->
                cluster
                    ? redis.commands().async().spublish(name, message)
                    : redis.commands().async().publish(name, message))
        .thenApply(n -> null);
  }

  @Override
  public CompletionStage<Subscription> subscribe(String channel, Listener listener) {
    RedisSubscription s = new RedisSubscription(channel, listener);
    CompletableFuture<Void> ready;
    synchronized (subscriptions) {
      ChannelState state = subscriptions.get(channel);
      if (state != null) {
        state.subs.add(s);
        // Later subscribers wait for the same SUBSCRIBE as the first, so none of them is told it
        // is active before Redis confirmed the channel.
        return state.ready.thenApply(v -> s);
      }
      state = new ChannelState();
      state.subs.add(s);
      ready = state.ready;
      subscriptions.put(channel, state);
      // Sent under the lock, as the last unsubscribe's UNSUBSCRIBE is: Redis gets a channel's
      // commands in the order its local state changed, so a subscribe racing the last unsubscribe
      // never ends with the channel subscribed here and unsubscribed in Redis. (On a cluster that
      // holds while the client's view of the slot's primary stays; should a redirected SUNSUBSCRIBE
      // overtake a newer SSUBSCRIBE, its confirmation reaches sunsubscribed while the channel is
      // held here, which subscribes it again.)
      ChannelState made = state;
      try {
        String name = keys.channel(channel);
        (cluster ? redis.pubsub().async().ssubscribe(name) : redis.pubsub().async().subscribe(name))
            .whenComplete(
                (v, e) -> {
                  if (e != null) {
                    failed(channel, made, e);
                  } else {
                    ready.complete(null);
                  }
                });
      } catch (RedisException e) {
        failed(channel, made, e);
      }
    }
    return ready.handle(
        (v, e) -> {
          if (e != null) {
            throw e instanceof CompletionException ce ? ce : new CompletionException(e);
          }
          return s;
        });
  }

  /**
   * A channel's first {@code SUBSCRIBE} failed: its state leaves the map with every subscription
   * that joined it (each caller is told it failed), so the next subscribe starts afresh instead of
   * joining a failed one; and Redis is told to unsubscribe, in case it did subscribe (a timeout).
   */
  private void failed(String channel, ChannelState state, Throwable e) {
    synchronized (subscriptions) {
      if (subscriptions.remove(channel, state)) {
        for (RedisSubscription s : state.subs) {
          s.open = false;
        }
        try {
          String name = keys.channel(channel);
          (cluster
                  ? redis.pubsub().async().sunsubscribe(name)
                  : redis.pubsub().async().unsubscribe(name))
              .exceptionally(x -> null);
        } catch (RedisException x) {
          // As when the stage fails: should Lettuce subscribe it again on reconnect, endIfNotHeld
          // ends it.
        }
      }
    }
    state.ready.completeExceptionally(RedisErrors.unavailable(e));
  }

  /**
   * A sign of life ({@code PING}), then writes: keys of its own set with a minute's expiry, which a
   * Redis at its {@code maxmemory} refuses, so that the heartbeat names a full Redis ({@link
   * RedisErrors#FULL}) rather than showing it fine while it refuses every change. One key on one
   * Redis ({@code <prefix>health}); on a Redis Cluster one per primary ({@link
   * RedisKeys#health(int)} in a slot of each, as the topology shows), at once, so that any full
   * primary fails it: when several fail, it fails as the first primary's (in slot order) does.
   */
  @Override
  public CompletionStage<Void> ping() {
    return RedisErrors.call(() -> redis.commands().async().ping()).thenCompose(v -> writeHealth());
  }

  private CompletionStage<Void> writeHealth() {
    List<Integer> slots = redis.primarySlots();
    if (slots.isEmpty()) {
      return writeHealth(redis.keys().key("health"));
    }
    List<CompletableFuture<Void>> writes = new ArrayList<>(slots.size());
    for (int slot : slots) {
      writes.add(writeHealth(redis.keys().health(slot)).toCompletableFuture());
    }
    return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new))
        .handle(
            (v, e) -> {
              for (CompletableFuture<Void> w : writes) {
                w.join(); // the first failure, as it failed
              }
              return null;
            });
  }

  private CompletionStage<Void> writeHealth(String key) {
    return RedisErrors.call(
            () ->
                redis
                    .commands()
                    .async()
                    .set(key, HEALTH_VALUE, io.lettuce.core.SetArgs.Builder.px(60_000)))
        .thenApply(v -> null);
  }

  private static final byte[] HEALTH_VALUE = {'1'};

  @Override
  public void close() {
    closed = true;
    synchronized (subscriptions) {
      subscriptions.clear();
    }
  }

  /** The local listeners of one Redis channel and the SUBSCRIBE that made it active. */
  private static final class ChannelState {
    final List<RedisSubscription> subs = new CopyOnWriteArrayList<>();
    final CompletableFuture<Void> ready = new CompletableFuture<>();
  }

  private final class RedisSubscription implements Subscription {
    final String channel;
    final Listener listener;
    volatile boolean open = true;

    RedisSubscription(String channel, Listener listener) {
      this.channel = channel;
      this.listener = listener;
    }

    @Override
    public String channel() {
      return channel;
    }

    /** Removes this subscription; true when it was the channel's last one. Holds the lock. */
    private boolean dropLocked() {
      open = false;
      ChannelState state = subscriptions.get(channel);
      if (state == null || !state.subs.remove(this)) {
        return false;
      }
      if (state.subs.isEmpty()) {
        subscriptions.remove(channel);
        return true;
      }
      return false;
    }

    @Override
    public CompletionStage<Void> unsubscribe() {
      synchronized (subscriptions) {
        if (!dropLocked()) {
          return CompletableFuture.completedFuture(null);
        }
        // Under the lock: see subscribe.
        try {
          String name = keys.channel(channel);
          return (cluster
                  ? redis.pubsub().async().sunsubscribe(name)
                  : redis.pubsub().async().unsubscribe(name))
              .handle((v, e) -> null);
        } catch (RedisException e) {
          // Disconnected: the subscription is gone locally; should Lettuce subscribe it again on
          // reconnect, endIfNotHeld ends it.
          return CompletableFuture.completedFuture(null);
        }
      }
    }
  }
}
