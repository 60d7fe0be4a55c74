package org.presence.gateway.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceStateStore;

/**
 * The statistics' cost ({@link PresenceQueries#stats}): a page of grants is one state read of its
 * users, not one per user, requests that come while a count is made share it, and past the ttl a
 * request gets the last count while the next is made.
 */
class PresenceQueriesTest {
  static final long APP = 3;
  private static final Duration TTL = Duration.ofSeconds(10);

  /** Grants of {@code n} users of {@link #APP}, read a page at a time, each page once released. */
  static final class Grants {
    final List<Grant> all = new CopyOnWriteArrayList<>();
    final AtomicInteger pages = new AtomicInteger();
    volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);

    Grants add(int n) {
      for (int i = all.size(), end = all.size() + n; i < end; i++) {
        String sub = "user-" + i;
        all.add(
            new Grant(
                String.format("puid-%05d", i), sub, APP, sub, true, Instant.EPOCH, Instant.EPOCH));
      }
      return this;
    }

    GrantRepository repository() {
      return (GrantRepository)
          Proxy.newProxyInstance(
              GrantRepository.class.getClassLoader(),
              new Class<?>[] {GrantRepository.class},
              (proxy, method, args) -> {
                String after = (String) args[1];
                int size = (Integer) args[2];
                pages.incrementAndGet();
                List<Grant> page = new ArrayList<>();
                for (Grant g : all) {
                  if (g.puid().compareTo(after) > 0 && page.size() < size) {
                    page.add(g);
                  }
                }
                return gate.thenApply(v -> page);
              });
    }
  }

  @Test
  void stats_readEachPagesUsersAtOnce_andConcurrentRequestsShareOneCount() throws Exception {
    int n = PresenceQueries.STATS_PAGE * 2 + 7;
    Grants grants = new Grants().add(n);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    grants.gate = gate;
    LocalPresenceStateStore users = new LocalPresenceStateStore();
    for (int i = 0; i < n; i += 3) {
      String sub = "user-" + i;
      UUID s = UUID.randomUUID();
      users.claim(sub, "d", s, "n", 10, 1);
      users.update(sub, "d", s, PresenceStatus.AWAY, null, null, 2);
    }
    GrantRepository repo = grants.repository();
    List<Integer> pageReads = new CopyOnWriteArrayList<>();
    AtomicInteger oneReads = new AtomicInteger();
    PresenceStateStore counted =
        (PresenceStateStore)
            Proxy.newProxyInstance(
                PresenceStateStore.class.getClassLoader(),
                new Class<?>[] {PresenceStateStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("presence") && args[0] instanceof List<?> l) {
                    pageReads.add(l.size());
                  } else if (method.getName().equals("presence")) {
                    oneReads.incrementAndGet();
                  }
                  try {
                    return method.invoke(users, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    PresenceQueries q = new PresenceQueries(repo, counted, Duration.ofMinutes(1));
    CompletionStage<PresenceQueries.Stats> first = q.stats(APP);
    CompletionStage<PresenceQueries.Stats> second = q.stats(APP);
    gate.complete(null);
    PresenceQueries.Stats a = first.toCompletableFuture().get(20, TimeUnit.SECONDS);
    PresenceQueries.Stats b = second.toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertThat(b).isSameAs(a);
    assertThat(a.away()).isEqualTo((n + 2) / 3);
    assertThat(a.offline()).isEqualTo(n - (n + 2) / 3);
    assertThat(grants.pages).hasValue(3);
    assertThat(pageReads).containsExactly(500, 500, 7);
    assertThat(oneReads).hasValue(0);
    users.close();
  }

  @Test
  void pastTheTtl_aRequestGetsTheLastCount_whileTheNextIsMade_andWaitsOnlyPastSixTtls()
      throws Exception {
    Grants grants = new Grants().add(5);
    LocalPresenceStateStore users = new LocalPresenceStateStore();
    AtomicLong nanos = new AtomicLong();
    PresenceQueries q = new PresenceQueries(grants.repository(), users, TTL, nanos::get);

    PresenceQueries.Stats first = q.stats(APP).toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertThat(first.offline()).isEqualTo(5);

    // Past the ttl, with the next count held at its first page: the request is answered at once
    // with the last count, and the count goes on behind it.
    grants.add(2);
    grants.gate = new CompletableFuture<>();
    nanos.addAndGet(TTL.plusSeconds(1).toNanos());
    int pagesBefore = grants.pages.get();
    assertThat(q.stats(APP).toCompletableFuture().get(20, TimeUnit.SECONDS)).isSameAs(first);
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(grants.pages.get()).isGreaterThan(pagesBefore));
    assertThat(q.stats(APP).toCompletableFuture().get(20, TimeUnit.SECONDS)).isSameAs(first);
    grants.gate.complete(null);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> q.stats(APP).toCompletableFuture().get().offline() == 7);

    // A count older than six ttls is not answered: the request waits for the next one.
    grants.add(1);
    grants.gate = new CompletableFuture<>();
    nanos.addAndGet(TTL.multipliedBy(PresenceQueries.STATS_KEPT_TTLS + 1).toNanos());
    CompletableFuture<PresenceQueries.Stats> late = q.stats(APP).toCompletableFuture();
    assertThat(late).isNotDone();
    grants.gate.complete(null);
    assertThat(late.get(20, TimeUnit.SECONDS).offline()).isEqualTo(8);
    users.close();
  }
}
