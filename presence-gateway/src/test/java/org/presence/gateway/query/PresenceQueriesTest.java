package org.presence.gateway.query;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceStateStore;

/**
 * The statistics' cost ({@link PresenceQueries#stats}): a page of grants is one state read of its
 * users, not one per user, and requests that come while a count is made share it.
 */
class PresenceQueriesTest {
  private static final long APP = 3;

  @Test
  void stats_readEachPagesUsersAtOnce_andConcurrentRequestsShareOneCount() throws Exception {
    int n = PresenceQueries.STATS_PAGE * 2 + 7;
    List<Grant> grants = new ArrayList<>();
    LocalPresenceStateStore users = new LocalPresenceStateStore();
    for (int i = 0; i < n; i++) {
      String sub = "user-" + i;
      grants.add(
          new Grant(
              String.format("puid-%05d", i), sub, APP, sub, true, Instant.EPOCH, Instant.EPOCH));
      if (i % 3 == 0) {
        UUID s = UUID.randomUUID();
        users.claim(sub, "d", s, "n", 10, 1);
        users.update(sub, "d", s, PresenceStatus.AWAY, null, null, 2);
      }
    }
    CompletableFuture<Void> gate = new CompletableFuture<>();
    AtomicInteger pages = new AtomicInteger();
    GrantRepository repo =
        (GrantRepository)
            Proxy.newProxyInstance(
                GrantRepository.class.getClassLoader(),
                new Class<?>[] {GrantRepository.class},
                (proxy, method, args) -> {
                  String after = (String) args[1];
                  int size = (Integer) args[2];
                  pages.incrementAndGet();
                  List<Grant> page = new ArrayList<>();
                  for (Grant g : grants) {
                    if (g.puid().compareTo(after) > 0 && page.size() < size) {
                      page.add(g);
                    }
                  }
                  return gate.thenApply(v -> page);
                });
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
    assertThat(pages).hasValue(3);
    assertThat(pageReads).containsExactly(500, 500, 7);
    assertThat(oneReads).hasValue(0);
    users.close();
  }
}
