package org.presence.gateway.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;
import org.presence.gateway.settings.StoredSettingsReader.Outcome;
import org.presence.store.user.UserSettings;
import org.presence.store.user.UserSettingsRepository;

/**
 * Who has stored settings is read in full once, then only the users whose settings changed: a scale
 * probe found every node reading 100,001 names every 5 minutes past 100,000 users with settings.
 */
class StoredSettingsReaderTest {
  private static final Duration MARGIN = Duration.ofMinutes(5);
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  /** A settings table the test fills; records what was asked. */
  private static final class Table implements UserSettingsRepository {
    final List<String> stored = new ArrayList<>();
    final List<String> changed = new ArrayList<>();
    final List<String> asked = new ArrayList<>();
    RuntimeException failure;

    @Override
    public CompletionStage<UserSettings> get(String userSub) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletionStage<List<String>> storedUsers(int limit) {
      asked.add("all " + limit);
      return answer(stored, limit);
    }

    @Override
    public CompletionStage<List<String>> changedUsers(Instant since, int limit) {
      asked.add("since " + since + " " + limit);
      return answer(changed, limit);
    }

    private CompletionStage<List<String>> answer(List<String> names, int limit) {
      if (failure != null) {
        return CompletableFuture.failedFuture(failure);
      }
      return CompletableFuture.completedFuture(
          List.copyOf(names.subList(0, Math.min(limit, names.size()))));
    }

    @Override
    public CompletionStage<UserSettings> put(UserSettings settings) {
      throw new UnsupportedOperationException();
    }
  }

  private final Table table = new Table();
  private final StoredSettingsIndex index = new StoredSettingsIndex();
  private Instant now = T0;
  private final Clock clock =
      new Clock() {
        @Override
        public java.time.ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now;
        }
      };

  private StoredSettingsReader reader(int most) {
    return new StoredSettingsReader(table, index, most, MARGIN, clock);
  }

  private static Outcome read(StoredSettingsReader r) {
    return r.read().toCompletableFuture().join();
  }

  @Test
  void afterTheFirstRead_onlyTheChangedUsersAreRead() {
    StoredSettingsReader r = reader(10);
    table.stored.addAll(List.of("alice", "bob"));
    assertThat(read(r)).isEqualTo(Outcome.LOADED);
    assertThat(index.mayHave("alice")).isTrue();
    assertThat(index.mayHave("carol")).isFalse();

    // Carol's first save, its invalidation lost: the next read finds her among the changed rows.
    now = T0.plus(MARGIN);
    table.changed.add("carol");
    assertThat(read(r)).isEqualTo(Outcome.ADDED);
    assertThat(index.mayHave("carol")).isTrue();
    assertThat(index.mayHave("alice")).isTrue();
    assertThat(index.mayHave("dave")).isFalse();

    now = T0.plus(MARGIN.multipliedBy(2));
    assertThat(read(r)).isEqualTo(Outcome.ADDED);
    // One full read; each later one asks for what changed since the read before, less the margin.
    assertThat(table.asked)
        .containsExactly("all 11", "since " + T0.minus(MARGIN) + " 11", "since " + T0 + " 11");
  }

  @Test
  void moreUsersThanItMayHold_tooManyForGood() {
    StoredSettingsReader r = reader(2);
    table.stored.addAll(List.of("alice", "bob", "carol"));
    assertThat(read(r)).isEqualTo(Outcome.TOO_MANY);
    assertThat(index.known()).isFalse();
  }

  @Test
  void changedUsersBeyondTheBound_tooManyForGood() {
    StoredSettingsReader r = reader(2);
    table.stored.addAll(List.of("alice", "bob"));
    assertThat(read(r)).isEqualTo(Outcome.LOADED);
    // Bob changed again (already known); a new user is one too many.
    table.changed.addAll(List.of("bob"));
    assertThat(read(r)).isEqualTo(Outcome.ADDED);
    assertThat(index.known()).isTrue();
    table.changed.add("carol");
    assertThat(read(r)).isEqualTo(Outcome.TOO_MANY);
    assertThat(index.known()).isFalse();
  }

  @Test
  void aFailedRead_forgetsWhatItKnew_andTheNextReadsEveryUser() {
    StoredSettingsReader r = reader(10);
    table.stored.add("alice");
    assertThat(read(r)).isEqualTo(Outcome.LOADED);
    table.failure = new IllegalStateException("database down");
    assertThatThrownBy(() -> read(r)).hasRootCauseMessage("database down");
    assertThat(index.known()).isFalse();
    table.failure = null;
    table.asked.clear();
    assertThat(read(r)).isEqualTo(Outcome.LOADED);
    assertThat(table.asked).containsExactly("all 11");
  }
}
