package org.presence.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class DeliveryLogTest {
  private static DeliveryLog.Delivery call(int n) {
    return new DeliveryLog.Delivery(Instant.ofEpochSecond(n), 200, "", n, 1, false);
  }

  @Test
  void recent_whenMoreThanKept_thenNewestFirstAndBounded() {
    DeliveryLog log = new DeliveryLog();
    for (int i = 1; i <= DeliveryLog.PER_APP + 5; i++) {
      log.add(7, call(i));
    }
    log.add(8, call(100));
    assertThat(log.recent(7)).hasSize(DeliveryLog.PER_APP);
    assertThat(log.recent(7).get(0).latencyMillis()).isEqualTo(DeliveryLog.PER_APP + 5);
    assertThat(log.recent(7).get(DeliveryLog.PER_APP - 1).latencyMillis()).isEqualTo(6);
    assertThat(log.recent(8)).extracting(DeliveryLog.Delivery::latencyMillis).containsExactly(100L);
    assertThat(log.recent(9)).isEmpty();
  }

  @Test
  void ok_onlyFor2xx() {
    assertThat(new DeliveryLog.Delivery(Instant.EPOCH, 204, "", 1, 0, true).ok()).isTrue();
    assertThat(new DeliveryLog.Delivery(Instant.EPOCH, 500, "", 1, 0, true).ok()).isFalse();
    assertThat(new DeliveryLog.Delivery(Instant.EPOCH, 0, "timeout", 1, 0, true).ok()).isFalse();
  }
}
