package org.presence.store.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The behaviour of every {@link NodeRegistry}. */
public abstract class NodeRegistryContract {
  protected abstract NodeRegistry open();

  protected abstract void closeAll();

  @AfterEach
  void close() {
    closeAll();
  }

  protected static <T> T join(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  protected static String node() {
    return "n-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void heartbeat_makesTheNodeAliveAndNotExpired() {
    NodeRegistry r = open();
    String n = node();
    join(r.heartbeat(n, Duration.ofSeconds(30)));
    assertThat(join(r.alive())).contains(n);
    assertThat(join(r.expired())).doesNotContain(n);
    assertThat(join(r.claim(n, "someone"))).isFalse();
  }

  @Test
  void heartbeat_saysWhetherTheLeaseWentOn() {
    NodeRegistry r = open();
    String n = node();
    assertThat(join(r.heartbeat(n, Duration.ofSeconds(30)))).as("first: joins").isFalse();
    assertThat(join(r.heartbeat(n, Duration.ofSeconds(30)))).as("renewal").isTrue();
    join(r.leave(n));
    assertThat(join(r.heartbeat(n, Duration.ofSeconds(30)))).as("after leaving: joins").isFalse();
  }

  @Test
  void leave_removesTheNodeWithoutADeath() {
    NodeRegistry r = open();
    String n = node();
    join(r.heartbeat(n, Duration.ofSeconds(30)));
    join(r.leave(n));
    assertThat(join(r.alive())).doesNotContain(n);
    assertThat(join(r.expired())).doesNotContain(n);
  }

  @Test
  void holdLease_oneHolderAtATime_renewable_handedOverOnceItRunsOut() throws Exception {
    NodeRegistry r = open();
    NodeRegistry other = open();
    String name = "job-" + UUID.randomUUID();
    // A lease long enough that a's renewal comes before it runs out on a loaded machine (with
    // 300 ms, the three calls took longer once, and "renewed" failed).
    assertThat(join(r.holdLease(name, "a", Duration.ofSeconds(2)))).isTrue();
    assertThat(join(other.holdLease(name, "b", Duration.ofSeconds(30)))).isFalse();
    assertThat(join(r.holdLease(name, "a", Duration.ofSeconds(1)))).as("renewed").isTrue();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    boolean taken = false;
    while (!taken && System.nanoTime() < end) {
      Thread.sleep(50);
      taken = join(other.holdLease(name, "b", Duration.ofSeconds(30)));
    }
    assertThat(taken).as("taken over once a's lease ran out").isTrue();
    assertThat(join(r.holdLease(name, "a", Duration.ofSeconds(30)))).isFalse();
  }
}
