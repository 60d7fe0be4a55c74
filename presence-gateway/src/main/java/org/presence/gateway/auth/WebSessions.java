package org.presence.gateway.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.WebConfig;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.identity.KeyFiles;
import org.presence.protocol.id.SecureRandoms;
import org.presence.protocol.id.Sha256;
import org.presence.store.db.SignInRetention;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * Page sessions, kept server-side in the database every node shares, and anti-forgery tokens.
 *
 * <p>A session cookie holds 32 random bytes (base64url) and nothing else; the table {@code
 * web_sessions} stores only the SHA-256 of that value, with the user, the email (display only), the
 * browser's User-Agent, when it was created and last seen, and when it expires ({@code
 * web.session-lifetime}). Signing out deletes the row, so a copied cookie dies with it; "sign out
 * everywhere" deletes every row of the user. Each node keeps recently read sessions for at most
 * {@link #CACHE_TTL}; ending a session publishes a cache invalidation ({@value #KIND}) so that
 * every other node drops its copy as soon as the bus delivers it.
 *
 * <p>Anti-forgery: every page visitor gets a random nonce in its own cookie; a form carries {@code
 * base64url(HMAC(key, "csrf" | nonce | subject))}. A forged cross-site POST has the cookie but
 * cannot know the token; a token taken from one visitor does not fit another's nonce or subject.
 */
public final class WebSessions {
  /** Cookie holding the session id. */
  public static final String SESSION_COOKIE = "presence_session";

  /** Cookie holding the anti-forgery nonce. */
  public static final String CSRF_COOKIE = "presence_csrf";

  /**
   * The prefix of both cookies' names on a node served over TLS ({@code __Host-presence_session}):
   * browsers take a cookie so named only when it is Secure, for the path {@code /} and without a
   * Domain, so a sibling subdomain (or a page over plain HTTP) cannot set one in its place.
   */
  public static final String HOST_PREFIX = "__Host-";

  /** File in the data directory holding the generated key when none is configured. */
  public static final String KEY_FILE = "web-session.key";

  /** Cache invalidation kind: the key is a session's id hash, or {@code user:<subject>}. */
  public static final String KIND = "web-session";

  /** How long a node answers a session from memory without asking the database. */
  public static final Duration CACHE_TTL = Duration.ofSeconds(10);

  /** Longest User-Agent kept (the rest is cut). */
  public static final int MAX_USER_AGENT = 200;

  /**
   * A signed-in visitor.
   *
   * @param idHash SHA-256 (hex) of the cookie's session id: names the session without revealing it
   * @param subject the user
   * @param email for display
   * @param userAgent the browser that signed in, as it named itself
   * @param createdAt when it signed in
   * @param lastSeenAt when a page last used the session (updated at most every {@link #CACHE_TTL}
   *     per node)
   * @param expiresAt when the session ends
   */
  public record Session(
      String idHash,
      String subject,
      String email,
      String userAgent,
      Instant createdAt,
      Instant lastSeenAt,
      Instant expiresAt) {}

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();

  private final byte[] key;
  private final Duration lifetime;
  private final int maxPerUser;
  private final Clock clock;
  private final Db db;
  private final Invalidations invalidations;
  private final Cache<String, Session> cache;

  public WebSessions(
      byte[] key, Duration lifetime, Clock clock, Db db, Invalidations invalidations) {
    this(key, lifetime, WebConfig.DEFAULT_MAX_SESSIONS_PER_USER, clock, db, invalidations);
  }

  /** Sessions of which one user may hold at most {@code maxPerUser}. */
  public WebSessions(
      byte[] key,
      Duration lifetime,
      int maxPerUser,
      Clock clock,
      Db db,
      Invalidations invalidations) {
    if (maxPerUser < 1) {
      throw new IllegalArgumentException("maxPerUser must be positive");
    }
    this.key = key.clone();
    this.lifetime = lifetime;
    this.maxPerUser = maxPerUser;
    this.clock = clock;
    this.db = db;
    this.invalidations = invalidations;
    this.cache = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(CACHE_TTL).build();
    invalidations.register(KIND, this::dropLocal);
  }

  /**
   * Sessions in {@code db}, with anti-forgery tokens keyed by {@code config.sessionSecret()} or by
   * the key file in {@code dataDir}.
   */
  public static WebSessions create(
      WebConfig config, Path dataDir, Clock clock, Db db, Invalidations invalidations) {
    byte[] key =
        config.sessionSecret().isEmpty()
            ? loadOrCreateKey(dataDir)
            : config.sessionSecret().getBytes(StandardCharsets.UTF_8);
    return new WebSessions(
        key, config.sessionLifetime(), config.maxSessionsPerUser(), clock, db, invalidations);
  }

  private static byte[] loadOrCreateKey(Path dataDir) {
    Path file = dataDir.resolve(KEY_FILE);
    try {
      if (!Files.exists(file)) {
        byte[] fresh = new byte[32];
        SecureRandoms.current().nextBytes(fresh);
        KeyFiles.createOnce(file, B64.encodeToString(fresh), StandardCharsets.US_ASCII);
      }
      byte[] key = B64D.decode(Files.readString(file, StandardCharsets.US_ASCII).strip());
      if (key.length < 32) {
        throw new IllegalStateException("web session key " + file + " is too short");
      }
      return key;
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException("cannot load web session key " + file + ": " + e, e);
    }
  }

  /** How long a new session lasts. */
  public Duration lifetime() {
    return lifetime;
  }

  /**
   * Opens a session for {@code identity} and completes with the cookie value (the random id); also
   * deletes at most {@link SignInRetention#ON_REQUEST} sessions that expired, of anyone (the
   * retention sweep deletes the rest), and the user's oldest sessions beyond the newest {@code
   * maxPerUser} (ended on every node, as a sign-out would).
   */
  public CompletionStage<String> issue(Identity identity, String userAgent) {
    byte[] raw = new byte[32];
    SecureRandoms.current().nextBytes(raw);
    String id = B64.encodeToString(raw);
    Instant now = clock.instant();
    String agent = userAgent == null ? "" : clean(userAgent);
    return db.<Issued>call(
            h -> {
              SignInRetention.someExpiredWebSessions(h, now);
              h.createUpdate(
                      "INSERT INTO web_sessions (id_hash, user_sub, email, user_agent, created_at,"
                          + " last_seen_at, expires_at) VALUES (:h, :u, :e, :ua, :now, :now, :exp)")
                  .bind("h", hash(id))
                  .bind("u", identity.subject())
                  .bind("e", identity.email().length() > 320 ? "" : identity.email())
                  .bind("ua", agent)
                  .bind("now", Timestamps.bind(now))
                  .bind("exp", Timestamps.bind(now.plus(lifetime)))
                  .execute();
              // The user's other sessions beyond the newest maxPerUser - 1 end: the new one is
              // kept whatever the clocks of the nodes that made the others said.
              List<String> evicted =
                  h.createQuery(
                          "SELECT id_hash FROM web_sessions WHERE user_sub = :u AND id_hash <> :h"
                              + " ORDER BY created_at DESC, id_hash OFFSET :n ROWS")
                      .bind("u", identity.subject())
                      .bind("h", hash(id))
                      .bind("n", maxPerUser - 1)
                      .mapTo(String.class)
                      .list();
              for (String old : evicted) {
                h.createUpdate("DELETE FROM web_sessions WHERE id_hash = :h")
                    .bind("h", old)
                    .execute();
              }
              return new Issued(id, evicted);
            })
        .thenCompose(
            issued ->
                CompletableFuture.allOf(
                        issued.evicted().stream()
                            .map(old -> invalidations.publish(KIND, old).toCompletableFuture())
                            .toArray(CompletableFuture<?>[]::new))
                    .thenApply(v -> issued.id()));
  }

  private record Issued(String id, List<String> evicted) {}

  private static String clean(String userAgent) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < userAgent.length() && b.length() < MAX_USER_AGENT; i++) {
      char c = userAgent.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    return b.toString();
  }

  /**
   * The live session whose id is {@code cookieValue}: from memory when read within {@link
   * #CACHE_TTL} on this node, else from the database (which then records it as seen).
   */
  public CompletionStage<Optional<Session>> read(String cookieValue) {
    if (cookieValue == null || !cookieValue.matches("[A-Za-z0-9_-]{43}")) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    String h = hash(cookieValue);
    Instant now = clock.instant();
    Session cached = cache.getIfPresent(h);
    if (cached != null) {
      return CompletableFuture.completedFuture(
          now.isBefore(cached.expiresAt()) ? Optional.of(cached) : Optional.empty());
    }
    return db.call(
            handle -> {
              handle
                  .createUpdate(
                      "UPDATE web_sessions SET last_seen_at = :now WHERE id_hash = :h"
                          + " AND expires_at > :now")
                  .bind("h", h)
                  .bind("now", Timestamps.bind(now))
                  .execute();
              return handle
                  .createQuery(
                      "SELECT id_hash, user_sub, email, user_agent, created_at, last_seen_at,"
                          + " expires_at FROM web_sessions WHERE id_hash = :h AND expires_at > :now")
                  .bind("h", h)
                  .bind("now", Timestamps.bind(now))
                  .map((rs, ctx) -> row(rs))
                  .findOne();
            })
        .thenApply(
            found -> {
              found.ifPresent(s -> cache.put(h, s));
              return found;
            });
  }

  /** The user's live sessions, newest first (at most {@code maxPerUser}). */
  public CompletionStage<List<Session>> list(String subject) {
    Instant now = clock.instant();
    return db.call(
        h ->
            h.createQuery(
                    "SELECT id_hash, user_sub, email, user_agent, created_at, last_seen_at,"
                        + " expires_at FROM web_sessions WHERE user_sub = :u AND expires_at > :now"
                        + " ORDER BY created_at DESC, id_hash LIMIT :n")
                .bind("u", subject)
                .bind("n", maxPerUser)
                .bind("now", Timestamps.bind(now))
                .map((rs, ctx) -> row(rs))
                .list());
  }

  /**
   * Ends the session named {@code idHash} if it is {@code subject}'s, on every node; completes with
   * whether there was one.
   */
  public CompletionStage<Boolean> end(String subject, String idHash) {
    return db.call(
            h ->
                h.createUpdate("DELETE FROM web_sessions WHERE id_hash = :h AND user_sub = :u")
                    .bind("h", idHash)
                    .bind("u", subject)
                    .execute())
        .thenCompose(n -> invalidations.publish(KIND, idHash).thenApply(v -> n > 0));
  }

  /** Ends every session of {@code subject}, on every node; completes with how many there were. */
  public CompletionStage<Integer> endAll(String subject) {
    return db.call(
            h ->
                h.createUpdate("DELETE FROM web_sessions WHERE user_sub = :u")
                    .bind("u", subject)
                    .execute())
        .thenCompose(n -> invalidations.publish(KIND, "user:" + subject).thenApply(v -> n));
  }

  /** The id hash of the session in {@code cookieValue} (as {@link Session#idHash()}). */
  public static String hash(String cookieValue) {
    return HexFormat.of().formatHex(Sha256.of(cookieValue.getBytes(StandardCharsets.US_ASCII)));
  }

  private void dropLocal(String key) {
    if (key.startsWith("user:")) {
      String subject = key.substring("user:".length());
      cache.asMap().values().removeIf(s -> s.subject().equals(subject));
    } else {
      cache.invalidate(key);
    }
  }

  private static Session row(java.sql.ResultSet rs) throws java.sql.SQLException {
    return new Session(
        rs.getString("id_hash"),
        rs.getString("user_sub"),
        rs.getString("email"),
        rs.getString("user_agent"),
        Timestamps.read(rs, "created_at"),
        Timestamps.read(rs, "last_seen_at"),
        Timestamps.read(rs, "expires_at"));
  }

  /** A fresh anti-forgery nonce (for the {@link #CSRF_COOKIE}). */
  public static String newNonce() {
    byte[] b = new byte[18];
    SecureRandoms.current().nextBytes(b);
    return B64.encodeToString(b);
  }

  /** The form token for {@code nonce} and {@code subject} (empty before sign-in). */
  public String csrfToken(String nonce, String subject) {
    return B64.encodeToString(
        mac("csrf", (nonce + "\n" + subject).getBytes(StandardCharsets.UTF_8)));
  }

  /** Whether {@code token} is the form token for {@code nonce} and {@code subject}. */
  public boolean csrfValid(String nonce, String subject, String token) {
    if (nonce == null || nonce.isEmpty() || token == null || token.length() > 128) {
      return false;
    }
    return MessageDigest.isEqual(
        csrfToken(nonce, subject).getBytes(StandardCharsets.US_ASCII),
        token.getBytes(StandardCharsets.US_ASCII));
  }

  private byte[] mac(String purpose, byte[] data) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(key, "HmacSHA256"));
      // The purpose keeps a session signature from ever passing as a form token, and back.
      m.update(purpose.getBytes(StandardCharsets.US_ASCII));
      m.update((byte) 0);
      return m.doFinal(data);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
