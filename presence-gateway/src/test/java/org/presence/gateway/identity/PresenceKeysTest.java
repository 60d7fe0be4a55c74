package org.presence.gateway.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

/**
 * Presence's signing keys on the real (embedded) database: two instances over one database (two
 * nodes) publish and accept the same keys; a new key is published at once and signs only once every
 * node has had a reload interval to load it; tokens of the old key keep verifying.
 */
class PresenceKeysTest {
  @TempDir Path dir;
  EmbeddedPersistence db;

  @BeforeEach
  void open() {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dir));
  }

  @AfterEach
  void close() {
    db.close();
  }

  private static JwtIdentityVerifier verifier(PresenceKeys keys, Clock clock) {
    return new JwtIdentityVerifier(
        null,
        null,
        new JwtIdentityVerifier.TrustedIssuer(PresenceKeys.ISSUER, keys),
        "presence",
        Duration.ofSeconds(30),
        100,
        clock,
        new MetricRegistry());
  }

  private static String kid(String token) throws Exception {
    return SignedJWT.parse(token).getHeader().getKeyID();
  }

  /** A clock the test moves. */
  static final class TestClock extends Clock {
    volatile Instant now = Instant.now();

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void nodesShareKeys_andANewKeySignsOnlyOnceEveryNodeKnowsIt() throws Exception {
    TestClock clock = new TestClock();
    Duration reload = Duration.ofMinutes(5);
    PresenceKeys a = PresenceKeys.load(db.db(), clock, Duration.ofDays(30), reload);
    PresenceKeys b = PresenceKeys.load(db.db(), clock, Duration.ofDays(30), reload);
    assertThat(b.publicKeys().getKeys()).isEqualTo(a.publicKeys().getKeys());
    assertThat(a.publicKeys().getKeys()).hasSize(1).allMatch(k -> !k.isPrivate());

    String old =
        a.mint("dev:x@example.com", "x@example.com", "dev-1", "presence", Duration.ofHours(1));
    Identity id = verifier(b, clock).verify(old).toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(id.subject()).isEqualTo("dev:x@example.com");
    assertThat(id.pairedDevice()).isEqualTo("dev-1");

    String first = a.signingKeyId();
    clock.now = clock.now.plusSeconds(1);
    a.rotate().toCompletableFuture().get(5, TimeUnit.SECONDS);
    // Published at once, but the old key still signs: b has not loaded the new one yet.
    assertThat(a.publicKeys().getKeys()).hasSize(2);
    assertThat(a.signingKeyId()).isEqualTo(first);
    assertThat(kid(a.mint("dev:x@example.com", "", "dev-1", "presence", Duration.ofHours(1))))
        .isEqualTo(first);

    // One reload interval later both nodes have reloaded; the new key signs, b accepts its tokens
    // and still the old key's.
    clock.now = clock.now.plus(reload).plusSeconds(1);
    a.refreshForUnknownKey().toCompletableFuture().get(5, TimeUnit.SECONDS);
    b.refreshForUnknownKey().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(a.signingKeyId()).isNotEqualTo(first);
    String fresh =
        a.mint("dev:x@example.com", "x@example.com", "dev-1", "presence", Duration.ofHours(1));
    assertThat(kid(fresh)).isEqualTo(a.signingKeyId());
    JwtIdentityVerifier onB = verifier(b, clock);
    assertThat(onB.verify(fresh).toCompletableFuture().get(5, TimeUnit.SECONDS).subject())
        .isEqualTo("dev:x@example.com");
    assertThat(onB.verify(old).toCompletableFuture().get(5, TimeUnit.SECONDS).subject())
        .isEqualTo("dev:x@example.com");
    assertThat(b.publicKeys().getKeys()).hasSize(2);
  }

  @Test
  void aTokenWithoutItsPairedDevice_isRefused() throws Exception {
    PresenceKeys a =
        PresenceKeys.load(db.db(), Clock.systemUTC(), Duration.ofDays(30), Duration.ofMinutes(5));
    String token =
        a.mint("dev:x@example.com", "x@example.com", "", "presence", Duration.ofMinutes(5));
    assertThat(verifier(a, Clock.systemUTC()).verify(token).toCompletableFuture())
        .failsWithin(5, TimeUnit.SECONDS)
        .withThrowableThat()
        .havingRootCause()
        .withMessageContaining("no paired device");
  }
}
