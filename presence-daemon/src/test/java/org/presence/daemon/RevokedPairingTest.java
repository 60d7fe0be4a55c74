package org.presence.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.presence.client.Backoff;
import org.presence.client.PresenceException;

/**
 * A daemon whose pairing the node no longer accepts stops (and says to pair again) instead of
 * asking its token supplier again and again; other token failures are retried.
 */
class RevokedPairingTest {
  private static final Backoff FAST = new Backoff(Duration.ofMillis(20), Duration.ofMillis(40));

  @Test
  void aSupplierThatSaysRevoked_stopsTheDaemon_otherFailuresAreRetried() throws Exception {
    try (ServerSocket unused = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      URI node = URI.create("http://127.0.0.1:" + unused.getLocalPort());
      AtomicInteger asked = new AtomicInteger();
      CompletableFuture<PresenceException> stopped = new CompletableFuture<>();
      PresenceDaemon daemon =
          PresenceDaemon.builder(node)
              .tokens(
                  () -> {
                    asked.incrementAndGet();
                    throw new PresenceDaemon.PairingRevokedException("invalid_grant");
                  })
              .backoff(FAST)
              .events(
                  new PresenceDaemon.Events() {
                    @Override
                    public void stopped(PresenceException cause) {
                      stopped.complete(cause);
                    }
                  })
              .start();
      try {
        PresenceException cause = stopped.get(10, TimeUnit.SECONDS);
        assertThat(PresenceDaemon.describe(cause)).contains("invalid_grant");
        Thread.sleep(500);
        assertThat(asked.get()).isEqualTo(1);
      } finally {
        daemon.close();
      }

      AtomicInteger failing = new AtomicInteger();
      CompletableFuture<PresenceException> wrongly = new CompletableFuture<>();
      PresenceDaemon other =
          PresenceDaemon.builder(node)
              .tokens(
                  () -> {
                    failing.incrementAndGet();
                    throw new IllegalStateException("the node is unreachable");
                  })
              .backoff(FAST)
              .events(
                  new PresenceDaemon.Events() {
                    @Override
                    public void stopped(PresenceException cause) {
                      wrongly.complete(cause);
                    }
                  })
              .start();
      try {
        Thread.sleep(500);
        assertThat(failing.get()).isGreaterThan(2);
        assertThat(wrongly).isNotDone();
      } finally {
        other.close();
      }
    }
  }

  @Test
  void errnoMinus12_isRevoked_andTheCausesAreDescribed() {
    assertThat(PresenceDaemon.isRevoked(new PresenceException(-12, 0, "Device revoked"))).isTrue();
    assertThat(PresenceDaemon.isRevoked(new PresenceException(-10, 0, "aborted"))).isFalse();
    PresenceException failed =
        new PresenceException(
            "Cannot connect to ws://x/presence",
            new java.io.UncheckedIOException(
                new java.io.IOException("HTTP 500 from /oauth/token")));
    assertThat(PresenceDaemon.describe(failed)).contains("HTTP 500 from /oauth/token");
  }
}
