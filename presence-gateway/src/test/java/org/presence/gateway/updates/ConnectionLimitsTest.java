package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.limit.LocalConnectionCounts;

class ConnectionLimitsTest {
  private static UpdatesConfig config(int max, double rate, int burst) {
    Duration s = Duration.ofSeconds(1);
    return new UpdatesConfig(s, max, rate, burst, 16, s, 10, 10, s, s, s, 10, 0, false, 1, 10, 20);
  }

  private static ConnectionLimits limits(UpdatesConfig config) {
    return new ConnectionLimits(config, new LocalConnectionCounts());
  }

  /** {@link ConnectionLimits#open}, answered at once (local counts), its refusal thrown. */
  private static void open(ConnectionLimits l, long appId, long nanos) {
    try {
      l.open(appId, nanos).toCompletableFuture().join();
    } catch (CompletionException e) {
      throw (RuntimeException) e.getCause();
    }
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
    ConnectionLimits l = limits(config(2, 100, 100));
    open(l, 1, 0);
    open(l, 1, 0);
    assertThat(refusal(() -> open(l, 1, 0))).isEqualTo(ErrorCode.TOO_MANY_APP_CONNECTIONS);
    open(l, 2, 0);
    l.closed(1, 0);
    open(l, 1, 0);
    assertThat(l.open(1)).isEqualTo(2);
  }

  @Test
  void open_whenAFloodOfReconnects_thenTooManyReconnects_andTheBucketRefillsWithTime() {
    ConnectionLimits l = limits(config(100, 2, 3));
    long t = 0;
    for (int i = 0; i < 3; i++) {
      open(l, 7, t);
      l.closed(7, t);
    }
    long now = t;
    assertThatThrownBy(() -> open(l, 7, now))
        .extracting(e -> ((ProtocolException) e).code())
        .isEqualTo(ErrorCode.TOO_MANY_APP_RECONNECTS);
    // Another application is not affected.
    open(l, 8, now);
    // Half a second later one token came back (2 a second).
    open(l, 7, now + TimeUnit.MILLISECONDS.toNanos(500));
    assertThat(l.open(7)).isEqualTo(1);
  }

  @Test
  void open_whenRefusedForReconnects_thenNotCounted() {
    ConnectionLimits l = limits(config(1, 0.001, 1));
    open(l, 3, 0);
    l.closed(3, 0);
    assertThat(refusal(() -> open(l, 3, 0))).isEqualTo(ErrorCode.TOO_MANY_APP_RECONNECTS);
    // Had the refused one stayed counted, the limit of one would now say too many connections.
    assertThat(refusal(() -> open(l, 3, 0))).isEqualTo(ErrorCode.TOO_MANY_APP_RECONNECTS);
    assertThat(l.open(3)).isZero();
  }
}
