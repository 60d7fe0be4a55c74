package org.presence.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.WebConfig;
import org.presence.gateway.identity.Identity;

class WebSessionsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private final byte[] key = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private WebSessions at(Instant now) {
    return new WebSessions(key, Duration.ofHours(1), Clock.fixed(now, ZoneOffset.UTC));
  }

  private static Identity alice() {
    return new Identity("dev:alice@example.com", "alice@example.com", T0.plusSeconds(60));
  }

  @Test
  void read_whenIssuedAndFresh_thenTheSession() {
    String cookie = at(T0).issue(alice());
    var s = at(T0.plusSeconds(3599)).read(cookie).orElseThrow();
    assertThat(s.subject()).isEqualTo("dev:alice@example.com");
    assertThat(s.email()).isEqualTo("alice@example.com");
    assertThat(s.expiresAt()).isEqualTo(T0.plusSeconds(3600));
  }

  @Test
  void read_whenExpiredTamperedOrOtherKey_thenEmpty() {
    String cookie = at(T0).issue(alice());
    assertThat(at(T0.plusSeconds(3600)).read(cookie)).isEmpty();
    String tampered =
        cookie.substring(0, 5) + (cookie.charAt(5) == 'A' ? 'B' : 'A') + cookie.substring(6);
    assertThat(at(T0).read(tampered)).isEmpty();
    byte[] other = key.clone();
    other[0] ^= 1;
    assertThat(
            new WebSessions(other, Duration.ofHours(1), Clock.fixed(T0, ZoneOffset.UTC))
                .read(cookie))
        .isEmpty();
    assertThat(at(T0).read("garbage")).isEmpty();
    assertThat(at(T0).read("a.b")).isEmpty();
    assertThat(at(T0).read("x".repeat(5000))).isEmpty();
    assertThat(at(T0).read(null)).isEmpty();
  }

  @Test
  void csrf_tokenFitsOnlyItsNonceAndSubject() {
    WebSessions s = at(T0);
    String nonce = WebSessions.newNonce();
    String token = s.csrfToken(nonce, "dev:alice@example.com");
    assertThat(s.csrfValid(nonce, "dev:alice@example.com", token)).isTrue();
    assertThat(s.csrfValid(nonce, "dev:mallory@example.com", token)).isFalse();
    assertThat(s.csrfValid(WebSessions.newNonce(), "dev:alice@example.com", token)).isFalse();
    assertThat(s.csrfValid(nonce, "dev:alice@example.com", null)).isFalse();
    assertThat(s.csrfValid("", "dev:alice@example.com", token)).isFalse();
    // A session signature is never a form token.
    assertThat(s.csrfValid(nonce, "", s.issue(alice()))).isFalse();
  }

  @Test
  void create_whenNoSecret_thenAKeyFileKeptInTheDataDirectory(@TempDir Path dir) throws Exception {
    WebConfig config = new WebConfig("", Duration.ofHours(1), true);
    String cookie = WebSessions.create(config, dir, Clock.fixed(T0, ZoneOffset.UTC)).issue(alice());
    assertThat(Files.exists(dir.resolve(WebSessions.KEY_FILE))).isTrue();
    assertThat(WebSessions.create(config, dir, Clock.fixed(T0, ZoneOffset.UTC)).read(cookie))
        .isPresent();
  }
}
