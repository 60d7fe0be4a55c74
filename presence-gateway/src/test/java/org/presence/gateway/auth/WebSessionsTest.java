package org.presence.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.OidcConfig;
import org.presence.gateway.config.WebConfig;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.testing.ExpiredRows;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.SignInRetention;

/** Page sessions in the real embedded database, read by two "nodes" sharing it and one bus. */
class WebSessionsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private final byte[] key = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  private EmbeddedPersistence db;
  private LocalPresenceBus bus;

  @BeforeEach
  void open(@TempDir Path dir) {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dir.resolve("db")));
    bus = new LocalPresenceBus();
  }

  @AfterEach
  void close() {
    bus.close();
    db.close();
  }

  private WebSessions node(Instant now) throws Exception {
    Invalidations inv = new Invalidations(bus);
    WebSessions s =
        new WebSessions(key, Duration.ofHours(1), Clock.fixed(now, ZoneOffset.UTC), db.db(), inv);
    inv.start().toCompletableFuture().get(5, TimeUnit.SECONDS);
    return s;
  }

  private static <T> T get(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Whether {@code node} stops seeing the session within two seconds (the bus is asynchronous). */
  private static boolean gone(WebSessions node, String cookie) throws Exception {
    for (int i = 0; i < 40; i++) {
      if (get(node.read(cookie)).isEmpty()) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }

  private static Identity alice() {
    return new Identity("dev:alice@example.com", "alice@example.com", T0.plusSeconds(60));
  }

  /**
   * A sign-in deletes at most {@link SignInRetention#ON_REQUEST} expired sessions, oldest first,
   * whatever the backlog (a scale probe: 600,000 in one statement, 1.1 s); the sweep deletes the
   * rest.
   */
  @Test
  void issue_deletesABoundedShareOfExpiredSessions() throws Exception {
    ExpiredRows.insert(
        db.db().jdbi(),
        T0,
        "INSERT INTO web_sessions (id_hash, user_sub, email, user_agent, created_at,"
            + " last_seen_at, expires_at) VALUES (:id, 'dev:old', '', '', :at, :at, :at)");
    String cookie = get(node(T0).issue(alice(), "Browser/1.0"));
    assertThat(get(node(T0).read(cookie))).isPresent();
    ExpiredRows.assertOldestDeleted(
        db.db().jdbi(), "SELECT id_hash FROM web_sessions WHERE user_sub = 'dev:old'");
  }

  @Test
  void read_whenIssuedAndFresh_thenTheSessionOnEveryNode() throws Exception {
    String cookie = get(node(T0).issue(alice(), "Browser/1.0\u0007"));
    assertThat(cookie).matches("[A-Za-z0-9_-]{43}");
    var s = get(node(T0.plusSeconds(3599)).read(cookie)).orElseThrow();
    assertThat(s.subject()).isEqualTo("dev:alice@example.com");
    assertThat(s.email()).isEqualTo("alice@example.com");
    assertThat(s.userAgent()).isEqualTo("Browser/1.0 ");
    assertThat(s.expiresAt()).isEqualTo(T0.plusSeconds(3600));
    assertThat(s.idHash()).isEqualTo(WebSessions.hash(cookie));
    // Only the hash is stored: the cookie value itself is nowhere in the table.
    List<String> stored =
        db.db()
            .jdbi()
            .withHandle(
                h -> h.createQuery("SELECT id_hash FROM web_sessions").mapTo(String.class).list());
    assertThat(stored).containsExactly(WebSessions.hash(cookie));
  }

  @Test
  void read_whenExpiredUnknownOrMalformed_thenEmpty() throws Exception {
    String cookie = get(node(T0).issue(alice(), "ua"));
    assertThat(get(node(T0.plusSeconds(3600)).read(cookie))).isEmpty();
    String other =
        cookie.substring(0, 5) + (cookie.charAt(5) == 'A' ? 'B' : 'A') + cookie.substring(6);
    WebSessions n = node(T0);
    assertThat(get(n.read(other))).isEmpty();
    assertThat(get(n.read("garbage"))).isEmpty();
    assertThat(get(n.read("x".repeat(5000)))).isEmpty();
    assertThat(get(n.read(null))).isEmpty();
  }

  @Test
  void end_onOneNode_endsTheSessionOnTheOtherThatHadItInMemory() throws Exception {
    WebSessions a = node(T0);
    WebSessions b = node(T0);
    String cookie = get(a.issue(alice(), "ua"));
    String copied = cookie;
    assertThat(get(b.read(copied))).isPresent(); // now in b's memory
    assertThat(get(a.end("dev:mallory@example.com", WebSessions.hash(cookie)))).isFalse();
    assertThat(get(b.read(copied))).isPresent();
    assertThat(get(a.end("dev:alice@example.com", WebSessions.hash(cookie)))).isTrue();
    assertThat(gone(b, copied)).isTrue();
    assertThat(get(a.read(copied))).isEmpty();
  }

  @Test
  void endAll_endsEveryOneOfTheUsersSessionsAndNoOneElses() throws Exception {
    WebSessions a = node(T0);
    WebSessions b = node(T0);
    String one = get(a.issue(alice(), "one"));
    String two = get(a.issue(alice(), "two"));
    String bob =
        get(
            a.issue(
                new Identity("dev:bob@example.com", "bob@example.com", T0.plusSeconds(60)), "b"));
    assertThat(get(b.read(one))).isPresent();
    assertThat(get(b.read(two))).isPresent();
    assertThat(get(a.list("dev:alice@example.com"))).hasSize(2);
    assertThat(get(a.endAll("dev:alice@example.com"))).isEqualTo(2);
    assertThat(gone(b, one)).isTrue();
    assertThat(gone(b, two)).isTrue();
    assertThat(get(b.read(bob)))
        .map(WebSessions.Session::subject)
        .isEqualTo(Optional.of("dev:bob@example.com"));
    assertThat(get(a.list("dev:alice@example.com"))).isEmpty();
  }

  @Test
  void csrf_tokenFitsOnlyItsNonceAndSubject() throws Exception {
    WebSessions s = node(T0);
    String nonce = WebSessions.newNonce();
    String token = s.csrfToken(nonce, "dev:alice@example.com");
    assertThat(s.csrfValid(nonce, "dev:alice@example.com", token)).isTrue();
    assertThat(s.csrfValid(nonce, "dev:mallory@example.com", token)).isFalse();
    assertThat(s.csrfValid(WebSessions.newNonce(), "dev:alice@example.com", token)).isFalse();
    assertThat(s.csrfValid(nonce, "dev:alice@example.com", null)).isFalse();
    assertThat(s.csrfValid("", "dev:alice@example.com", token)).isFalse();
    // A session id is never a form token.
    assertThat(s.csrfValid(nonce, "", get(s.issue(alice(), "ua")))).isFalse();
  }

  @Test
  void issue_beyondTheCap_endsTheUsersOldestSessions_onEveryNode() throws Exception {
    int cap = 4;
    Invalidations inv = new Invalidations(bus);
    inv.start().toCompletableFuture().get(5, TimeUnit.SECONDS);
    WebSessions other = node(T0.plusSeconds(100));
    List<String> cookies = new java.util.ArrayList<>();
    for (int i = 0; i < cap + 3; i++) {
      WebSessions at =
          new WebSessions(
              key,
              Duration.ofHours(1),
              cap,
              Clock.fixed(T0.plusSeconds(i), ZoneOffset.UTC),
              db.db(),
              inv);
      cookies.add(get(at.issue(alice(), "Browser/" + i)));
      if (i == 0) {
        // Read on another node, so that its copy must be dropped when the session is evicted.
        assertThat(get(other.read(cookies.get(0)))).isPresent();
      }
    }
    // Bob's session is not touched by Alice's sign-ins.
    String bob =
        get(
            node(T0)
                .issue(
                    new Identity("dev:bob@example.com", "bob@example.com", T0.plusSeconds(60)),
                    "ua"));
    WebSessions later = node(T0.plusSeconds(200));
    for (int i = 0; i < 3; i++) {
      assertThat(get(later.read(cookies.get(i)))).as("session %d", i).isEmpty();
    }
    assertThat(gone(other, cookies.get(0))).as("evicted on the other node too").isTrue();
    for (int i = 3; i < cap + 3; i++) {
      assertThat(get(later.read(cookies.get(i)))).as("session %d", i).isPresent();
    }
    assertThat(get(later.read(bob))).isPresent();
    List<WebSessions.Session> listed = get(later.list("dev:alice@example.com"));
    assertThat(listed).hasSize(4);
    assertThat(listed.get(0).userAgent()).isEqualTo("Browser/" + (cap + 2));
  }

  @Test
  void create_whenNoSecret_thenAKeyFileKeptInTheDataDirectory(@TempDir Path dir) throws Exception {
    WebConfig config =
        new WebConfig(
            "",
            Duration.ofHours(1),
            true,
            new OidcConfig(
                "",
                "",
                "",
                List.of("openid"),
                Duration.ofSeconds(5),
                Duration.ofMinutes(10),
                0.2,
                20));
    Invalidations inv = new Invalidations(bus);
    Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    String token = WebSessions.create(config, dir, clock, db.db(), inv).csrfToken("n", "s");
    assertThat(Files.exists(dir.resolve(WebSessions.KEY_FILE))).isTrue();
    assertThat(WebSessions.create(config, dir, clock, db.db(), inv).csrfValid("n", "s", token))
        .isTrue();
  }
}
