package org.presence.protocol.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ApplicationIdsTest {
  @Test
  void of_sortsAndDropsRepeats() {
    ApplicationIds ids = ApplicationIds.of(492, 421, 492, 9592);
    assertThat(ids.toArray()).containsExactly(421, 492, 9592);
    assertThat(ids.contains(492)).isTrue();
    assertThat(ids.contains(391)).isFalse();
    assertThat(ids)
        .isEqualTo(ApplicationIds.of(9592, 421, 492))
        .hasSameHashCodeAs(ApplicationIds.of(421, 492, 9592));
  }

  @Test
  void of_whenNotPositive_thenRejected() {
    assertThatThrownBy(() -> ApplicationIds.of(3, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void csv_roundTrips() {
    assertThat(ApplicationIds.fromCsv(ApplicationIds.of(7, 3).toCsv()))
        .isEqualTo(ApplicationIds.of(3, 7));
    assertThat(ApplicationIds.of(7, 3).toCsv()).isEqualTo("3,7");
    assertThat(ApplicationIds.fromCsv("")).isSameAs(ApplicationIds.NONE);
    assertThat(ApplicationIds.of()).isSameAs(ApplicationIds.NONE);
  }
}
