package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class ConnectionLimitsTest {
  private static UpdatesConfig config(int max, double rate, int burst) {
    Duration s = Duration.ofSeconds(1);
    return new UpdatesConfig(s, max, rate, burst, 16, s, 10, 10, s, s, s, 10, 0, false, 1, 10, 20);
  }

  private static ErrorCode refusal(Runnable r) {
    try {
      r.run();
      return null;
    } catch (ProtocolException e) {
      return e.code();
    }
  }

  @Test
  void open_whenOverTheConcurrentLimit_thenTooManyConnections_untilOneCloses() {
    ConnectionLimits l = new ConnectionLimits(config(2, 100, 100));
    l.open(1, 0);
    l.open(1, 0);
    assertThat(refusal(() -> l.open(1, 0))).isEqualTo(ErrorCode.TOO_MANY_APP_CONNECTIONS);
    l.open(2, 0);
    l.closed(1, 0);
    l.open(1, 0);
    assertThat(l.open(1)).isEqualTo(2);
  }

  @Test
  void open_whenAFloodOfReconnects_thenTooManyReconnects_andTheBucketRefillsWithTime() {
    ConnectionLimits l = new ConnectionLimits(config(100, 2, 3));
    long t = 0;
    for (int i = 0; i < 3; i++) {
      l.open(7, t);
      l.closed(7, t);
    }
    long now = t;
    assertThatThrownBy(() -> l.open(7, now))
        .extracting(e -> ((ProtocolException) e).code())
        .isEqualTo(ErrorCode.TOO_MANY_APP_RECONNECTS);
    // Another application is not affected.
    l.open(8, now);
    // Half a second later one token came back (2 a second).
    l.open(7, now + TimeUnit.MILLISECONDS.toNanos(500));
    assertThat(l.open(7)).isEqualTo(1);
  }
}
