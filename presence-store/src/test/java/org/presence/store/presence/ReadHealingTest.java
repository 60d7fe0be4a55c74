package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The live-node cache of {@link ReadHealing}: how often it asks the registry, and what it says. */
class ReadHealingTest {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final AtomicInteger calls = new AtomicInteger();
  private volatile Collection<String> registry = List.of("a", "b", "self");
  private final AtomicBoolean mayJudge = new AtomicBoolean(true);

  private ReadHealing healing() {
    return new ReadHealing(
        () -> {
          calls.incrementAndGet();
          return CompletableFuture.completedFuture(registry);
        },
        "self",
        Duration.ofSeconds(15),
        (user, update) -> {},
        () -> 0L,
        nanos::get,
        mayJudge::get);
  }

  @Test
  void readsOfKnownNodes_askTheRegistryOncePerRefreshPeriod() {
    ReadHealing h = healing();
    assertThat(h.suspects(List.of("a"))).isTrue(); // nothing loaded yet: a reload starts
    assertThat(calls).hasValue(1);
    for (int i = 0; i < 100; i++) {
      nanos.addAndGet(Duration.ofMillis(100).toNanos());
      assertThat(h.suspects(List.of("a", "b", "self"))).isFalse();
    }
    assertThat(calls).hasValue(1);
    nanos.addAndGet(Duration.ofSeconds(6).toNanos());
    assertThat(h.suspects(List.of("a"))).isFalse();
    assertThat(calls).hasValue(2);
  }

  @Test
  void aSuspect_isJudgedOnALoadStartedAfterTheRead() {
    ReadHealing h = healing();
    h.suspects(List.of("a"));
    long sent = h.now();
    // The cache was loaded before the read: "c" joined since, a new load is needed.
    nanos.addAndGet(1);
    registry = List.of("a", "b", "c", "self");
    long read = h.now();
    Set<String> live = h.liveSince(read).toCompletableFuture().join().orElseThrow();
    assertThat(calls).hasValue(2);
    assertThat(h.anyGone(List.of("c"), live)).isFalse();
    // A read sent before that load reuses it.
    assertThat(h.liveSince(sent).toCompletableFuture().join()).contains(live);
    assertThat(calls).hasValue(2);
    registry = List.of("a", "self");
    nanos.addAndGet(1);
    assertThat(
            h.anyGone(
                List.of("b", "self"),
                h.liveSince(h.now()).toCompletableFuture().join().orElseThrow()))
        .isTrue();
    assertThat(calls).hasValue(3);
  }

  @Test
  void whileTheNodeMayNotJudge_noReadSuspects_andNoLoadJudges() {
    ReadHealing h = healing();
    mayJudge.set(false);
    assertThat(h.suspects(List.of("gone"))).isFalse();
    assertThat(calls).hasValue(0);
    assertThat(h.liveSince(h.now()).toCompletableFuture().join()).isEmpty();
    mayJudge.set(true);
    nanos.addAndGet(1);
    assertThat(h.suspects(List.of("gone"))).isTrue();
    assertThat(h.liveSince(h.now()).toCompletableFuture().join()).isPresent();
  }

  @Test
  void aRegistryAnswerThatLeavesThisNodeOut_judgesNobody() {
    ReadHealing h = healing();
    registry = List.of("b"); // the leases are behind: this node's own has run out in Redis
    assertThat(h.liveSince(h.now()).toCompletableFuture().join()).isEmpty();
    registry = List.of("b", "self");
    nanos.addAndGet(1);
    assertThat(h.liveSince(h.now()).toCompletableFuture().join()).contains(Set.of("b", "self"));
  }
}
