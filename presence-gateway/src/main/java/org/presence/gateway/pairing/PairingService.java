package org.presence.gateway.pairing;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.PairingConfig;
import org.presence.gateway.identity.PresenceKeys;
import org.presence.protocol.id.SecureRandoms;
import org.presence.protocol.id.Sha256;
import org.presence.protocol.model.ShownText;
import org.presence.store.db.SignInRetention;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * Device pairing with the OAuth 2.0 Device Authorization Grant (RFC 8628), Presence being the
 * authorization server of its devices. A device asks for a device code and a user code ({@link
 * #authorize}); the signed-in user enters the user code at {@code /pair}, names the device and
 * approves or denies ({@link #decide}); the device polls ({@link #poll}) and, once approved, gets a
 * refresh token (random, stored as its SHA-256, bound to the new paired-device row) and an identity
 * token signed by {@link PresenceKeys}. A refresh token gets new identity tokens ({@link #refresh})
 * until the user revokes its device ({@link #revoke}), which also ends the device's sessions on
 * every node (invalidation {@value #KIND}).
 *
 * <p>Codes and refresh tokens are bound to the client_id they were issued to (RFC 6749 §6, RFC 8628
 * §3.4): another client_id is {@code invalid_grant}. Refresh tokens rotate (RFC 9700 §4.14): every
 * refresh answers a new one. The one before stays accepted only until the new one is first used, so
 * a device whose refresh answer was lost (or that crashed before saving it) can try again with the
 * token it has; any older token, presented again, is reuse: the device is revoked as from the
 * settings page (all its refresh tokens dead, its sessions ended) and the answer is {@code
 * invalid_grant}. Rotated-out tokens are remembered (their SHA-256), the newest {@link
 * #ROTATED_MAX} per device for at most {@link #ROTATED_KEPT}, and forgotten once the device is
 * revoked.
 *
 * <p>Everything lives in the database, so the device may poll any node and the user approve on any
 * other. User codes are 8 letters from a 20-consonant alphabet (RFC 8628 §6.1: about 2^34 codes, no
 * vowels so no words, no look-alike characters), shown as {@code XXXX-XXXX}; each signed-in user
 * may enter at most {@code pairing.max-code-attempts} wrong codes per code lifetime (counted per
 * node), and a device code expires after {@code pairing.code-lifetime}.
 */
public final class PairingService {
  /** The invalidation kind: key {@code device:<id>} or {@code user:<sub>}. */
  public static final String KIND = "paired-device";

  /** RFC 8628 §6.1: consonants only, no look-alikes. */
  static final String USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

  /**
   * Longest device name. A name is also one line of visible text ({@link ShownText}): the user's
   * pages show it.
   */
  static final int MAX_NAME = 100;

  /** Longest client_id kept. */
  static final int MAX_CLIENT_ID = 100;

  /**
   * How long a rotated-out refresh token is remembered to recognise its reuse; one older than this
   * is merely unknown ({@code invalid_grant}, the device kept); the retention sweep deletes it.
   */
  static final Duration ROTATED_KEPT = SignInRetention.ROTATED_TOKENS_KEPT;

  /** The most rotated-out tokens remembered per device (the newest). */
  static final int ROTATED_MAX = 16;

  /** What a device's poll gets. */
  public sealed interface Poll {}

  /** An OAuth error answer ({@code authorization_pending}, {@code slow_down}, ...). */
  public record PollError(String error, String description) implements Poll {}

  /** Tokens: the identity token (access token), its lifetime and the refresh token. */
  public record Tokens(String identityToken, long expiresIn, String refreshToken) implements Poll {}

  /** The answer to a device authorization request. */
  public record Authorization(String deviceCode, String userCode, long expiresIn, long interval) {}

  /** A paired device as {@code /settings} lists it. */
  public record PairedDevice(
      String id, String name, Instant pairedAt, Instant lastSeenAt, boolean revoked) {}

  private final Db db;
  private final PresenceKeys keys;
  private final PairingConfig config;
  private final String audience;
  private final Invalidations invalidations;
  private final Clock clock;

  /** Wrong codes per user, kept a code lifetime, for at most {@value #MAX_TRACKED} users. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Attempts> attempts;

  /** Users whose wrong codes are counted at once. */
  static final int MAX_TRACKED = 100_000;

  private static final class Attempts {
    Instant since;
    int wrong;
  }

  public PairingService(
      Db db,
      PresenceKeys keys,
      PairingConfig config,
      String audience,
      Invalidations invalidations,
      Clock clock) {
    this.db = db;
    this.keys = keys;
    this.config = config;
    this.audience = audience;
    this.invalidations = invalidations;
    this.clock = clock;
    this.attempts =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(MAX_TRACKED)
            .expireAfterAccess(config.codeLifetime())
            .build();
  }

  /**
   * What is wrong with a device's {@code client_id}, in ASCII for an OAuth {@code
   * error_description}, or {@code null} when it may be kept: 1–{@value #MAX_CLIENT_ID} characters
   * of one line of visible text ({@link ShownText}), like every other name that is stored.
   */
  static String clientIdProblem(String clientId) {
    if (clientId == null || clientId.isBlank()) {
      return "client_id is required";
    }
    if (clientId.length() > MAX_CLIENT_ID) {
      return "client_id: at most " + MAX_CLIENT_ID + " characters";
    }
    String problem = ShownText.problem(clientId);
    return problem == null ? null : "client_id: " + problem;
  }

  /**
   * Starts a pairing for {@code clientId} (any string {@link #clientIdProblem} accepts; the daemon
   * sends {@code presence-device}) asked from the address {@code from}, which {@link #pending}
   * shows the user before they approve.
   */
  public CompletionStage<Authorization> authorize(String clientId, String from) {
    String deviceCode = token();
    String userCode = userCode();
    Instant now = Timestamps.now();
    long interval = config.pollInterval().toSeconds();
    return db.call(
        h -> {
          SignInRetention.someExpiredDeviceAuthorizations(h, now);
          h.createUpdate(
                  "INSERT INTO device_authorizations (code_hash, user_code, client_id, expires_at,"
                      + " interval_seconds, state, requested_at, requested_from) VALUES (:h, :u,"
                      + " :c, :e, :i, 'pending', :now, :from)")
              .bind("h", hash(deviceCode))
              .bind("u", userCode)
              .bind("c", clientId)
              .bind("now", Timestamps.bind(now))
              .bind("from", from)
              .bind("e", Timestamps.bind(now.plus(config.codeLifetime())))
              .bind("i", (int) Math.max(1, interval))
              .execute();
          return new Authorization(
              deviceCode, userCode, config.codeLifetime().toSeconds(), Math.max(1, interval));
        });
  }

  /** The user code in its stored form (upper case, no separator), or empty when malformed. */
  static Optional<String> normalise(String entered) {
    if (entered == null || entered.length() > 32) {
      return Optional.empty();
    }
    StringBuilder b = new StringBuilder(8);
    for (char c : entered.toUpperCase(Locale.ROOT).toCharArray()) {
      if (c == '-' || c == ' ') {
        continue;
      }
      if (USER_CODE_ALPHABET.indexOf(c) < 0 || b.length() == 8) {
        return Optional.empty();
      }
      b.append(c);
    }
    return b.length() == 8 ? Optional.of(b.toString()) : Optional.empty();
  }

  /** A pending request as the {@code /pair} page shows it before the user decides. */
  public record PendingRequest(
      String clientId, Instant requestedAt, String from, Instant expiresAt) {}

  /**
   * The request {@code userCode} names while it is pending, for {@code user} to see before they
   * decide; empty (counted as a wrong code, as {@link #decide} counts one) when the code is
   * malformed, unknown, expired or already decided.
   */
  public CompletionStage<Optional<PendingRequest>> pending(String user, String userCode) {
    Optional<String> code = normalise(userCode);
    if (code.isEmpty()) {
      wrongCode(user);
      return CompletableFuture.completedFuture(Optional.empty());
    }
    Instant now = Timestamps.now();
    return db.call(
            h ->
                h.createQuery(
                        "SELECT client_id, requested_at, requested_from, expires_at FROM"
                            + " device_authorizations WHERE user_code = :u AND state = 'pending'"
                            + " AND expires_at > :now")
                    .bind("u", code.get())
                    .bind("now", Timestamps.bind(now))
                    .map(
                        (rs, ctx) ->
                            new PendingRequest(
                                rs.getString("client_id"),
                                Timestamps.read(rs, "requested_at"),
                                rs.getString("requested_from"),
                                Timestamps.read(rs, "expires_at")))
                    .findOne())
        .thenApply(
            found -> {
              if (found.isEmpty()) {
                wrongCode(user);
              }
              return found;
            });
  }

  /** Whether {@code user} may still enter a code (not over the wrong-code limit). */
  public boolean mayTry(String user) {
    Attempts a = attempts.getIfPresent(user);
    if (a == null) {
      return true;
    }
    synchronized (a) {
      if (a.since == null || a.since.plus(config.codeLifetime()).isBefore(clock.instant())) {
        return true;
      }
      return a.wrong < config.maxCodeAttempts();
    }
  }

  private void wrongCode(String user) {
    Attempts a = attempts.get(user, u -> new Attempts());
    synchronized (a) {
      if (a.since == null || a.since.plus(config.codeLifetime()).isBefore(clock.instant())) {
        a.since = clock.instant();
        a.wrong = 0;
      }
      a.wrong++;
    }
  }

  /**
   * The user approves (naming the device {@code name}) or denies the pending request {@code
   * userCode}; false when it is no longer pending (expired, decided, unknown).
   */
  public CompletionStage<Boolean> decide(
      String user, String email, String userCode, boolean approve, String name) {
    Optional<String> code = normalise(userCode);
    if (code.isEmpty()) {
      wrongCode(user);
      return CompletableFuture.completedFuture(false);
    }
    Instant now = Timestamps.now();
    return db.call(
            h ->
                h.createUpdate(
                        "UPDATE device_authorizations SET state = :s, user_sub = :sub, user_email"
                            + " = :email, device_name = :n WHERE user_code = :u AND state ="
                            + " 'pending' AND expires_at > :now")
                    .bind("s", approve ? "approved" : "denied")
                    .bind("sub", user)
                    .bind("email", email)
                    .bind("n", approve ? name : null)
                    .bind("u", code.get())
                    .bind("now", Timestamps.bind(now))
                    .execute())
        .thenApply(
            n -> {
              if (n == 0) {
                wrongCode(user);
              }
              return n > 0;
            });
  }

  /**
   * A device polls with {@code deviceCode} (RFC 8628 §3.4, §3.5), as client {@code clientId}: a
   * code issued to another client_id is {@code invalid_grant}, and leaves the code as it was.
   */
  public CompletionStage<Poll> poll(String deviceCode, String clientId) {
    if (deviceCode == null || deviceCode.isEmpty() || deviceCode.length() > 128) {
      return CompletableFuture.completedFuture(
          new PollError("invalid_grant", "unknown device_code"));
    }
    String codeHash = hash(deviceCode);
    Instant now = Timestamps.now();
    return db.inTransaction(h -> poll(h, codeHash, clientId, now));
  }

  private Poll poll(Handle h, String codeHash, String clientId, Instant now) {
    var row =
        h.createQuery(
                "SELECT expires_at, interval_seconds, last_poll_at, state, user_sub, user_email,"
                    + " device_name, client_id FROM device_authorizations WHERE code_hash = :h FOR"
                    + " UPDATE")
            .bind("h", codeHash)
            .mapToMap()
            .findOne();
    if (row.isEmpty()) {
      return new PollError("invalid_grant", "unknown or used device_code");
    }
    var r = row.get();
    if (!r.get("client_id").equals(clientId)) {
      return new PollError("invalid_grant", "the device_code was issued to another client_id");
    }
    Instant expires = instant(r.get("expires_at"));
    if (!now.isBefore(expires)) {
      h.createUpdate("DELETE FROM device_authorizations WHERE code_hash = :h")
          .bind("h", codeHash)
          .execute();
      return new PollError("expired_token", "the device code expired; start again");
    }
    int interval = ((Number) r.get("interval_seconds")).intValue();
    Instant last = r.get("last_poll_at") == null ? null : instant(r.get("last_poll_at"));
    h.createUpdate(
            "UPDATE device_authorizations SET last_poll_at = :now, interval_seconds = :i WHERE"
                + " code_hash = :h")
        .bind("now", Timestamps.bind(now))
        .bind(
            "i", last != null && now.isBefore(last.plusSeconds(interval)) ? interval + 5 : interval)
        .bind("h", codeHash)
        .execute();
    if (last != null && now.isBefore(last.plusSeconds(interval))) {
      return new PollError(
          "slow_down", "poll at most every " + interval + " s; now " + (interval + 5));
    }
    String state = (String) r.get("state");
    if ("pending".equals(state)) {
      return new PollError("authorization_pending", "the user has not approved yet");
    }
    h.createUpdate("DELETE FROM device_authorizations WHERE code_hash = :h")
        .bind("h", codeHash)
        .execute();
    if (!"approved".equals(state)) {
      return new PollError("access_denied", "the user denied the pairing");
    }
    String user = (String) r.get("user_sub");
    String email = r.get("user_email") == null ? "" : (String) r.get("user_email");
    String id = SecureRandoms.uuid().toString();
    String refresh = token();
    h.createUpdate(
            "INSERT INTO paired_devices (id, user_sub, user_email, name, client_id, refresh_hash,"
                + " paired_at, last_seen_at) VALUES (:id, :u, :e, :n, :c, :r, :now, :now)")
        .bind("id", id)
        .bind("u", user)
        .bind("e", email)
        .bind("n", (String) r.get("device_name"))
        .bind("c", clientId)
        .bind("r", hash(refresh))
        .bind("now", Timestamps.bind(now))
        .execute();
    return new Tokens(
        keys.mint(user, email, id, audience, config.tokenLifetime()),
        config.tokenLifetime().toSeconds(),
        refresh);
  }

  private static Instant instant(Object v) {
    if (v instanceof java.time.OffsetDateTime o) {
      return o.toInstant();
    }
    if (v instanceof java.sql.Timestamp t) {
      return t.toInstant();
    }
    if (v instanceof java.time.Instant i) {
      return i;
    }
    throw new IllegalStateException("unexpected timestamp " + v.getClass());
  }

  /** A refresh token presented again after it was rotated out: its device is to be revoked. */
  private record Reused(String user, String id) {}

  /**
   * A new identity token and a new refresh token (the presented one rotated out) for the device
   * holding {@code refreshToken}, when it was paired as client {@code clientId} and is not revoked.
   * A rotated-out token presented again revokes its device ({@link #revoke}) and is {@code
   * invalid_grant}.
   */
  public CompletionStage<Poll> refresh(String refreshToken, String clientId) {
    if (refreshToken == null || refreshToken.isEmpty() || refreshToken.length() > 128) {
      return CompletableFuture.completedFuture(new PollError("invalid_grant", "unknown token"));
    }
    Instant now = Timestamps.now();
    String presented = hash(refreshToken);
    return db.<Object>inTransaction(h -> refresh(h, presented, clientId, now))
        .thenCompose(
            o -> {
              if (o instanceof Reused u) {
                return revoke(u.user(), u.id())
                    .thenApply(
                        n ->
                            (Poll)
                                new PollError(
                                    "invalid_grant",
                                    "the refresh token was used before: the device is revoked;"
                                        + " pair it again"));
              }
              return CompletableFuture.completedFuture((Poll) o);
            });
  }

  private Object refresh(Handle h, String presented, String clientId, Instant now) {
    var row =
        h.createQuery(
                "SELECT id, user_sub, user_email, client_id, refresh_hash, previous_refresh_hash,"
                    + " revoked_at FROM paired_devices WHERE refresh_hash = :r OR"
                    + " previous_refresh_hash = :r FOR UPDATE")
            .bind("r", presented)
            .mapToMap()
            .findOne();
    if (row.isEmpty()) {
      var reused =
          h.createQuery(
                  "SELECT d.id, d.user_sub FROM paired_device_rotated_tokens t JOIN paired_devices"
                      + " d ON d.id = t.device_id WHERE t.refresh_hash = :r AND d.revoked_at IS"
                      + " NULL")
              .bind("r", presented)
              .mapToMap()
              .findOne();
      if (reused.isPresent()) {
        return new Reused((String) reused.get().get("user_sub"), (String) reused.get().get("id"));
      }
      return new PollError("invalid_grant", "unknown or revoked refresh token");
    }
    var r = row.get();
    if (r.get("revoked_at") != null) {
      return new PollError("invalid_grant", "unknown or revoked refresh token");
    }
    String bound = (String) r.get("client_id");
    if (bound != null && !bound.equals(clientId)) {
      return new PollError("invalid_grant", "the refresh token was issued to another client_id");
    }
    String id = (String) r.get("id");
    String current = (String) r.get("refresh_hash");
    String previous = (String) r.get("previous_refresh_hash");
    // The current token used: the one before it dies, the current becomes the one before. The one
    // before used (the answer that rotated it was lost): the unused current one dies instead.
    String retired = presented.equals(current) ? previous : current;
    String kept = presented.equals(current) ? current : previous;
    String refresh = token();
    if (retired != null) {
      h.createUpdate(
              "INSERT INTO paired_device_rotated_tokens (refresh_hash, device_id, rotated_at)"
                  + " VALUES (:r, :id, :now)")
          .bind("r", retired)
          .bind("id", id)
          .bind("now", Timestamps.bind(now))
          .execute();
    }
    // The device's newest ROTATED_MAX rotated-out tokens younger than ROTATED_KEPT are kept: a
    // bounded history per device (a refresh every 10 minutes would otherwise keep 4,000 in 30
    // days). An older copy presented later is an unknown token: refused, just not seen as reuse.
    List<String> dropped =
        h.createQuery(
                "SELECT refresh_hash FROM paired_device_rotated_tokens WHERE device_id = :id AND"
                    + " rotated_at >= :cutoff ORDER BY rotated_at DESC, refresh_hash OFFSET :n"
                    + " ROWS")
            .bind("id", id)
            .bind("cutoff", Timestamps.bind(now.minus(ROTATED_KEPT)))
            .bind("n", ROTATED_MAX)
            .mapTo(String.class)
            .list();
    for (String old : dropped) {
      h.createUpdate("DELETE FROM paired_device_rotated_tokens WHERE refresh_hash = :r")
          .bind("r", old)
          .execute();
    }
    h.createUpdate(
            "DELETE FROM paired_device_rotated_tokens WHERE device_id = :id AND rotated_at <"
                + " :cutoff")
        .bind("id", id)
        .bind("cutoff", Timestamps.bind(now.minus(ROTATED_KEPT)))
        .execute();
    h.createUpdate(
            "UPDATE paired_devices SET last_seen_at = :now, refresh_hash = :r,"
                + " previous_refresh_hash = :p, client_id = :c WHERE id = :id")
        .bind("now", Timestamps.bind(now))
        .bind("r", hash(refresh))
        .bind("p", kept)
        .bind("c", bound != null ? bound : clientId)
        .bind("id", id)
        .execute();
    return new Tokens(
        keys.mint(
            (String) r.get("user_sub"),
            (String) r.get("user_email"),
            id,
            audience,
            config.tokenLifetime()),
        config.tokenLifetime().toSeconds(),
        refresh);
  }

  /** Whether paired device {@code id} exists and is not revoked. */
  public CompletionStage<Boolean> active(String id) {
    return db.call(
        h ->
            h.createQuery("SELECT 1 FROM paired_devices WHERE id = :id AND revoked_at IS NULL")
                .bind("id", id)
                .mapTo(Integer.class)
                .findOne()
                .isPresent());
  }

  /** The user's paired devices, newest first (revoked ones included). */
  public CompletionStage<List<PairedDevice>> list(String user) {
    return db.call(
        h ->
            h.createQuery(
                    "SELECT id, name, paired_at, last_seen_at, revoked_at FROM paired_devices"
                        + " WHERE user_sub = :u ORDER BY paired_at DESC, id")
                .bind("u", user)
                .map(
                    (rs, ctx) ->
                        new PairedDevice(
                            rs.getString("id"),
                            rs.getString("name"),
                            Timestamps.read(rs, "paired_at"),
                            Timestamps.read(rs, "last_seen_at"),
                            rs.getObject("revoked_at") != null))
                .list());
  }

  /**
   * Revokes the user's paired device {@code id}, or all of theirs when {@code id} is {@code null},
   * and ends their sessions on every node. Completes with how many were revoked.
   */
  public CompletionStage<Integer> revoke(String user, String id) {
    Instant now = Timestamps.now();
    return db.call(
            h -> {
              int n =
                  h.createUpdate(
                          "UPDATE paired_devices SET revoked_at = :now WHERE user_sub = :u AND"
                              + " revoked_at IS NULL"
                              + (id == null ? "" : " AND id = :id"))
                      .bind("now", Timestamps.bind(now))
                      .bind("u", user)
                      .bind("id", id == null ? "" : id)
                      .execute();
              // A revoked device's rotated-out tokens are no longer needed: each is refused as
              // unknown, and the device is already revoked.
              h.createUpdate(
                      "DELETE FROM paired_device_rotated_tokens WHERE device_id IN (SELECT id FROM"
                          + " paired_devices WHERE user_sub = :u AND revoked_at IS NOT NULL"
                          + (id == null ? "" : " AND id = :id")
                          + ")")
                  .bind("u", user)
                  .bind("id", id == null ? "" : id)
                  .execute();
              return n;
            })
        .thenCompose(
            n ->
                n == 0
                    ? CompletableFuture.completedFuture(0)
                    : invalidations
                        .publish(KIND, id == null ? "user:" + user : "device:" + id)
                        .thenApply(v -> n));
  }

  // Codes and tokens come from this thread's generator: the JDK's default SecureRandom reads
  // /dev/urandom on every draw, and authorize() runs on an event loop.
  private String token() {
    byte[] b = new byte[32];
    SecureRandoms.current().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private String userCode() {
    char[] c = new char[8];
    SecureRandom random = SecureRandoms.current();
    for (int i = 0; i < c.length; i++) {
      c[i] = USER_CODE_ALPHABET.charAt(random.nextInt(USER_CODE_ALPHABET.length()));
    }
    return new String(c);
  }

  /** How a user code is shown: {@code XXXX-XXXX}. */
  public static String display(String userCode) {
    return userCode.substring(0, 4) + "-" + userCode.substring(4);
  }

  static String hash(String secret) {
    return HexFormat.of().formatHex(Sha256.of(secret));
  }
}
