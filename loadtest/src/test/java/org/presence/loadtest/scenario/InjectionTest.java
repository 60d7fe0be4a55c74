package org.presence.loadtest.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.presence.loadtest.scenario.Dsl.atOnce;
import static org.presence.loadtest.scenario.Dsl.constantUsersPerSec;
import static org.presence.loadtest.scenario.Dsl.incrementUsers;
import static org.presence.loadtest.scenario.Dsl.nothingFor;
import static org.presence.loadtest.scenario.Dsl.rampUsers;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class InjectionTest {
  private static final long S = 1_000_000_000L;

  @Test
  void atOnce_startsEveryoneAtZero() {
    InjectionProfile p = new InjectionProfile(List.of(atOnce(5)));
    assertThat(p.users()).isEqualTo(5);
    assertThat(p.offsetNanos(0)).isZero();
    assertThat(p.offsetNanos(4)).isZero();
    assertThat(p.duration()).isZero();
  }

  @Test
  void ramp_spreadsUsersEvenlyOverTheDuration() {
    InjectionProfile p =
        new InjectionProfile(List.of(rampUsers(10).during(Duration.ofSeconds(10))));
    assertThat(p.offsetNanos(0)).isZero();
    assertThat(p.offsetNanos(1)).isEqualTo(S);
    assertThat(p.offsetNanos(9)).isEqualTo(9 * S);
    assertThat(p.duration()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void constantRate_startsRateTimesDurationUsersAtFixedGaps() {
    InjectionProfile p =
        new InjectionProfile(List.of(constantUsersPerSec(4).during(Duration.ofSeconds(5))));
    assertThat(p.users()).isEqualTo(20);
    assertThat(p.offsetNanos(1)).isEqualTo(S / 4);
    assertThat(p.offsetNanos(19)).isEqualTo(19 * S / 4);
  }

  @Test
  void stairs_addUsersPerLevelAndHold() {
    Injection stairs =
        incrementUsers(3)
            .times(2)
            .eachLevelLasting(Duration.ofSeconds(10))
            .rampingOver(Duration.ofSeconds(3))
            .build();
    InjectionProfile p = new InjectionProfile(List.of(stairs));
    assertThat(p.users()).isEqualTo(6);
    assertThat(p.offsetNanos(0)).isZero();
    assertThat(p.offsetNanos(2)).isEqualTo(2 * S);
    assertThat(p.offsetNanos(3)).isEqualTo(10 * S);
    assertThat(p.offsetNanos(5)).isEqualTo(12 * S);
    assertThat(p.duration()).isEqualTo(Duration.ofSeconds(20));
  }

  @Test
  void steps_runOneAfterAnother() {
    InjectionProfile p =
        new InjectionProfile(
            List.of(
                atOnce(2),
                nothingFor(Duration.ofSeconds(3)),
                rampUsers(2).during(Duration.ofSeconds(2))));
    assertThat(p.users()).isEqualTo(4);
    assertThat(p.offsetNanos(1)).isZero();
    assertThat(p.offsetNanos(2)).isEqualTo(3 * S);
    assertThat(p.offsetNanos(3)).isEqualTo(4 * S);
    assertThat(p.duration()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void slices_coverEveryUserOnce() {
    InjectionProfile p = new InjectionProfile(List.of(atOnce(10)));
    assertThat(p.sliceSize(0, 3) + p.sliceSize(1, 3) + p.sliceSize(2, 3)).isEqualTo(10);
    assertThat(p.sliceSize(0, 3)).isEqualTo(4);
    assertThat(p.sliceSize(2, 3)).isEqualTo(3);
    assertThat(new InjectionProfile(List.of(atOnce(1))).sliceSize(1, 2)).isZero();
  }

  @Test
  void invalidSteps_areRefused() {
    assertThatThrownBy(() -> rampUsers(1).during(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> constantUsersPerSec(0).during(Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> atOnce(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new InjectionProfile(List.of(atOnce(1))).offsetNanos(1))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void parseDuration_readsUnits() {
    assertThat(Dsl.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Dsl.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Dsl.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Dsl.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Dsl.parseDuration("3")).isEqualTo(Duration.ofSeconds(3));
    assertThatThrownBy(() -> Dsl.parseDuration("soon"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
