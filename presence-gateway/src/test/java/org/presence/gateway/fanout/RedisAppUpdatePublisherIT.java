package org.presence.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.RedisPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateBatchCodec;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.RedisAppUpdateLog;

/**
 * The batched cluster path (issue 13, section 1) on a real Redis: concurrent publications go to
 * Redis as few log calls, and each call reaches the other nodes as one bus message per application
 * that carries the numbered updates themselves.
 */
class RedisAppUpdatePublisherIT {
  /**
   * The Redis settings: one Redis here, a Redis Cluster in {@link
   * RedisAppUpdatePublisherClusterIT}.
   */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private RedisBackend redis;
  private RedisPresenceBus bus;
  private CountingLog log;
  private AppUpdatePublisher publisher;

  /** Counts the log calls of the publisher; delegates everything. */
  private static final class CountingLog implements AppUpdateLog {
    final AppUpdateLog inner;
    final AtomicInteger appendAllCalls = new AtomicInteger();

    CountingLog(AppUpdateLog inner) {
      this.inner = inner;
    }

    @Override
    public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
      return inner.append(appId, updates);
    }

    @Override
    public CompletionStage<Map<Long, List<AppUpdate>>> appendAll(
        Map<Long, List<AppUpdate.New>> byApp) {
      appendAllCalls.incrementAndGet();
      return inner.appendAll(byApp);
    }

    @Override
    public boolean publishesBatches() {
      return inner.publishesBatches();
    }

    @Override
    public CompletionStage<Read> readSince(long appId, long since, int limit) {
      return inner.readSince(appId, since, limit);
    }

    @Override
    public CompletionStage<Long> lastSeq(long appId) {
      return inner.lastSeq(appId);
    }
  }

  @BeforeEach
  void open() {
    Backends.redisUrl();
    redis = RedisBackend.connect(redisConfig(Backends.uniquePrefix(getClass())));
    bus = new RedisPresenceBus(redis);
    log = new CountingLog(new RedisAppUpdateLog(redis, AppUpdateLog.RETENTION));
    publisher = new AppUpdatePublisher(log, bus);
  }

  @AfterEach
  void close() {
    // Null when set-up was skipped (no test Redis configured) or failed part-way.
    if (bus != null) {
      bus.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /** Every batch message of {@code appId}, decoded. */
  private List<List<AppUpdate>> listen(long appId) {
    List<List<AppUpdate>> got = new CopyOnWriteArrayList<>();
    join(
        bus.subscribe(
            AppUpdateBatchCodec.channel(appId),
            (c, m) -> {
              try {
                got.add(AppUpdateBatchCodec.decodeBatch(m));
              } catch (IOException e) {
                throw new AssertionError(e);
              }
            }));
    return got;
  }

  private static void awaitSize(List<?> list, int n) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (list.stream().mapToInt(x -> ((List<?>) x).size()).sum() < n && System.nanoTime() < end) {
      Thread.sleep(10);
    }
  }

  @Test
  void oneCall_isOneBusMessage_carryingEveryUpdateWithItsNumber() throws Exception {
    long app = 9_101;
    List<List<AppUpdate>> got = listen(app);
    List<AppUpdate> numbered =
        join(
            publisher.publish(
                app,
                List.of(
                    new AppUpdate.New("a", PresenceStatus.ONLINE, ""),
                    new AppUpdate.New("b", PresenceStatus.AWAY, "lunch"),
                    new AppUpdate.New("c", PresenceStatus.OFFLINE, ""))));
    awaitSize(got, 3);
    Thread.sleep(100);
    // Before: one PUBLISH (and one bus message) per update.
    assertThat(got).hasSize(1);
    assertThat(got.get(0)).isEqualTo(numbered);
    assertThat(got.get(0))
        .extracting(AppUpdate::puid, AppUpdate::message)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("a", ""),
            org.assertj.core.groups.Tuple.tuple("b", "lunch"),
            org.assertj.core.groups.Tuple.tuple("c", ""));
  }

  @Test
  void concurrentCalls_areBatchedIntoFewLogCalls_oneMessagePerAppAndCall() throws Exception {
    long[] apps = {9_201, 9_202, 9_203};
    List<List<List<AppUpdate>>> got = new ArrayList<>();
    for (long app : apps) {
      got.add(listen(app));
    }
    int calls = 90;
    List<CompletableFuture<List<AppUpdate>>> results = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      results.add(
          publisher
              .publish(
                  apps[i % apps.length],
                  List.of(new AppUpdate.New("p" + i, PresenceStatus.ONLINE, "")))
              .toCompletableFuture());
    }
    for (CompletableFuture<List<AppUpdate>> r : results) {
      assertThat(r.get(10, TimeUnit.SECONDS)).hasSize(1);
    }
    // Before: one log call per publication. Now the calls made while two are running wait and go
    // together.
    int logCalls = log.appendAllCalls.get();
    assertThat(logCalls).isLessThan(calls / 3);
    for (int k = 0; k < apps.length; k++) {
      List<List<AppUpdate>> messages = got.get(k);
      awaitSize(messages, calls / apps.length);
      assertThat(messages.size()).isLessThanOrEqualTo(logCalls);
      // Every update arrives once, numbered consecutively, with its own call's number.
      List<AppUpdate> all = messages.stream().flatMap(List::stream).toList();
      assertThat(all).hasSize(calls / apps.length);
      for (int i = 1; i < all.size(); i++) {
        assertThat(all.get(i).seq()).isEqualTo(all.get(i - 1).seq() + 1);
      }
      for (int i = k; i < calls; i += apps.length) {
        assertThat(all).contains(results.get(i).get().get(0));
      }
    }
  }

  @Test
  void aDuplicateDroppedByTheGuard_isNotPublished() throws Exception {
    long app = 9_301;
    List<List<AppUpdate>> got = listen(app);
    long v = 1_700_000_000_000_000L;
    join(
        publisher.publish(
            app,
            List.of(new AppUpdate.New("p", PresenceStatus.ONLINE, "", v, AppUpdate.Kind.CHANGE))));
    assertThat(
            join(
                publisher.publish(
                    app,
                    List.of(
                        new AppUpdate.New(
                            "p", PresenceStatus.ONLINE, "", v + 1, AppUpdate.Kind.CHANGE)))))
        .isEmpty();
    join(
        publisher.publish(
            app,
            List.of(
                new AppUpdate.New("p", PresenceStatus.AWAY, "", v + 2, AppUpdate.Kind.CHANGE))));
    awaitSize(got, 2);
    Thread.sleep(100);
    assertThat(got.stream().flatMap(List::stream).map(AppUpdate::status))
        .containsExactly(PresenceStatus.ONLINE, PresenceStatus.AWAY);
  }
}
