package org.presence.gateway.settings;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StoredSettingsIndexTest {
  private final StoredSettingsIndex index = new StoredSettingsIndex();

  @Test
  void mayHave_untilALoad_everyUser() {
    assertThat(index.known()).isFalse();
    assertThat(index.mayHave("dev:alice@example.com")).isTrue();
  }

  @Test
  void mayHave_afterALoad_onlyTheUsersItFoundAndThoseHeardSince() {
    index.loaded(List.of("dev:alice@example.com", "dev:carol@example.com"), System.nanoTime());
    assertThat(index.known()).isTrue();
    assertThat(index.mayHave("dev:alice@example.com")).isTrue();
    assertThat(index.mayHave("dev:carol@example.com")).isTrue();
    assertThat(index.mayHave("dev:bob@example.com")).isFalse();
    // A name equal to a loaded one but another string instance.
    assertThat(index.mayHave(new String("dev:alice@example.com"))).isTrue();

    index.heard("dev:bob@example.com");
    assertThat(index.mayHave("dev:bob@example.com")).isTrue();
    assertThat(index.size()).isEqualTo(3);
  }

  @Test
  void loaded_keepsWhatWasHeardAfterItsQueryBegan_dropsWhatItsQuerySaw() {
    long before = System.nanoTime();
    index.heard("dev:bob@example.com");
    long after = System.nanoTime();
    // A load whose query began before bob's change was heard may have missed it: bob stays.
    index.loaded(List.of("dev:alice@example.com"), before);
    assertThat(index.mayHave("dev:bob@example.com")).isTrue();
    // One that began after it saw bob's row (here: none, bob removed them): bob is forgotten.
    index.loaded(List.of("dev:alice@example.com"), after + 1);
    assertThat(index.mayHave("dev:bob@example.com")).isFalse();
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void unknown_afterAFailedLoad_everyUserAgain() {
    index.loaded(List.of(), System.nanoTime());
    assertThat(index.mayHave("dev:bob@example.com")).isFalse();
    index.unknown();
    assertThat(index.mayHave("dev:bob@example.com")).isTrue();
  }

  @Test
  void added_joinsTheLoadedUsers_onlyAfterALoad() {
    assertThat(index.added(List.of("dev:bob@example.com"), System.nanoTime())).isZero();
    assertThat(index.known()).isFalse();
    index.loaded(List.of("dev:alice@example.com"), System.nanoTime());
    index.heard("dev:carol@example.com");
    long after = System.nanoTime();
    assertThat(
            index.added(
                List.of("dev:bob@example.com", "dev:alice@example.com", "dev:bob@example.com"),
                after))
        .isEqualTo(2);
    assertThat(index.mayHave("dev:alice@example.com")).isTrue();
    assertThat(index.mayHave("dev:bob@example.com")).isTrue();
    // Heard before the read began: its row was among the changed ones, so no longer kept apart.
    assertThat(index.mayHave("dev:carol@example.com")).isFalse();
    assertThat(index.size()).isEqualTo(2);
  }
}
