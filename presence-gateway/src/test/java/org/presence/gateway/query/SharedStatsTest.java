package org.presence.gateway.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.presence.gateway.query.PresenceQueriesTest.APP;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.query.PresenceQueriesTest.Grants;
import org.presence.store.cluster.SharedValues;
import org.presence.store.presence.LocalPresenceStateStore;

/**
 * The nodes of a cluster share an application's count ({@link PresenceQueries#stats} through {@link
 * SharedValues}): a count one node made less than a ttl ago is reused by the others without reading
 * a page; while one node makes the next count, the others answer the last one; a shared value of
 * another form is counted over. {@code RedisSharedValuesIT} checks the Redis side of the same
 * promises (a claim taken once, ended by a put).
 */
class SharedStatsTest {
  private static final Duration TTL = Duration.ofSeconds(10);

  /** Shared values in this process, with Redis's semantics (values and claims; no expiry here). */
  private static final class InMemory implements SharedValues {
    final Map<String, String> values = new ConcurrentHashMap<>();
    final Map<String, String> claims = new ConcurrentHashMap<>();

    @Override
    public CompletionStage<Optional<String>> get(String name) {
      return CompletableFuture.completedFuture(Optional.ofNullable(values.get(name)));
    }

    @Override
    public CompletionStage<Void> put(String name, String value, Duration ttl, String holder) {
      values.put(name, value);
      claims.remove(name, holder);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> release(String name, String holder) {
      claims.remove(name, holder);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Boolean> claim(String name, String holder, Duration ttl) {
      return CompletableFuture.completedFuture(claims.putIfAbsent(name, holder) == null);
    }
  }

  private final LocalPresenceStateStore users = new LocalPresenceStateStore();
  private final InMemory shared = new InMemory();

  @AfterEach
  void close() {
    users.close();
  }

  private PresenceQueries node(Grants grants, String id) {
    return new PresenceQueries(grants.repository(), users, shared, id, TTL, Ticker.systemTicker());
  }

  private static PresenceQueries.Stats stats(PresenceQueries q) throws Exception {
    return q.stats(APP).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void aCountMadeOnOneNode_isReusedByTheOthers_withoutReadingAPage() throws Exception {
    Grants grants = new Grants().add(PresenceQueries.STATS_PAGE + 3);
    PresenceQueries a = node(grants, "a");
    PresenceQueries b = node(grants, "b");
    PresenceQueries.Stats counted = stats(a);
    assertThat(grants.pages).hasValue(2);
    assertThat(shared.claims).as("the put ended the claim").isEmpty();
    PresenceQueries.Stats reused = stats(b);
    assertThat(grants.pages).as("node b read no page").hasValue(2);
    assertThat(reused).isEqualTo(counted);
    assertThat(reused.offline()).isEqualTo(PresenceQueries.STATS_PAGE + 3);
  }

  @Test
  void whileAnotherNodeMakesTheNextCount_theLastSharedOneIsAnswered() throws Exception {
    Grants grants = new Grants().add(4);
    Instant old = Instant.now().minus(TTL.multipliedBy(2)).truncatedTo(ChronoUnit.MILLIS);
    shared.values.put(
        "stats:" + APP, PresenceQueries.encode(new PresenceQueries.Stats(1, 2, 0, 1, old)));
    shared.claims.put("stats:" + APP, "a");
    PresenceQueries.Stats answered = stats(node(grants, "b"));
    assertThat(answered.countedAt()).isEqualTo(old);
    assertThat(answered.away()).isEqualTo(2);
    assertThat(grants.pages).as("node b did not count").hasValue(0);
  }

  @Test
  void aSharedCountOlderThanTheTtl_unclaimed_isCountedAgain_andShared() throws Exception {
    Grants grants = new Grants().add(4);
    Instant old = Instant.now().minus(TTL.multipliedBy(2)).truncatedTo(ChronoUnit.MILLIS);
    shared.values.put(
        "stats:" + APP, PresenceQueries.encode(new PresenceQueries.Stats(1, 2, 0, 1, old)));
    PresenceQueries.Stats fresh = stats(node(grants, "b"));
    assertThat(grants.pages).hasValue(1);
    assertThat(fresh.offline()).isEqualTo(4);
    assertThat(fresh.countedAt()).isAfter(old);
    assertThat(PresenceQueries.decode(shared.values.get("stats:" + APP))).contains(fresh);
  }

  /** A node whose count fails gives its claim up, so the next node counts at once. */
  @Test
  void aCountThatFails_givesItsClaimUp() throws Exception {
    Grants grants = new Grants().add(3);
    grants.gate = CompletableFuture.failedFuture(new IllegalStateException("database down"));
    PresenceQueries a = node(grants, "a");
    assertThatThrownBy(() -> stats(a)).hasMessageContaining("database down");
    assertThat(shared.claims).as("a's claim given up").isEmpty();
    grants.gate = CompletableFuture.completedFuture(null);
    assertThat(stats(node(grants, "b")).offline()).isEqualTo(3);
  }

  /** A put ends its own holder's claim only: one a slower node makes does not end another's. */
  @Test
  void aPut_endsOnlyItsHoldersClaim() throws Exception {
    Grants grants = new Grants().add(2);
    shared.claims.put("stats:" + APP, "c");
    Instant old = Instant.now().minus(TTL.multipliedBy(2)).truncatedTo(ChronoUnit.MILLIS);
    shared.values.put(
        "stats:" + APP, PresenceQueries.encode(new PresenceQueries.Stats(0, 0, 0, 2, old)));
    // b does not hold the claim: it answers the last count and leaves c's claim alone.
    assertThat(stats(node(grants, "b")).countedAt()).isEqualTo(old);
    assertThat(shared.claims).containsEntry("stats:" + APP, "c");
  }

  @Test
  void aSharedValueOfAnotherForm_isCountedOver() throws Exception {
    Grants grants = new Grants().add(3);
    shared.values.put("stats:" + APP, "{\"online\":1}");
    assertThat(stats(node(grants, "b")).offline()).isEqualTo(3);
    assertThat(grants.pages).hasValue(1);
    assertThat(PresenceQueries.decode("1,2,3,4")).isEmpty();
    assertThat(PresenceQueries.decode("1,2,3,-4,5")).isEmpty();
    assertThat(PresenceQueries.decode("1,2,x,4,5")).isEmpty();
  }
}
