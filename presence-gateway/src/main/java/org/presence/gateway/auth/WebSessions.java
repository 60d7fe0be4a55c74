package org.presence.gateway.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.presence.gateway.config.WebConfig;
import org.presence.gateway.identity.Identity;
import org.presence.protocol.id.SecureRandoms;

/**
 * Stateless page sessions and anti-forgery tokens, both signed with one HMAC-SHA256 key.
 *
 * <p>A session cookie is {@code base64url(payload).base64url(mac)} where the payload holds the
 * subject, the email and the expiry; nothing is stored on the server, so any node with the same key
 * reads it. Signing out clears the cookie; a stolen cookie stays valid until it expires (the
 * lifetime is {@code web.session-lifetime}).
 *
 * <p>Anti-forgery: every page visitor gets a random nonce in its own cookie; a form carries {@code
 * base64url(HMAC(key, "csrf" | nonce | subject))}. A forged cross-site POST has the cookie but
 * cannot know the token; a token taken from one visitor does not fit another's nonce or subject.
 */
public final class WebSessions {
  /** Cookie holding the signed session. */
  public static final String SESSION_COOKIE = "presence_session";

  /** Cookie holding the anti-forgery nonce. */
  public static final String CSRF_COOKIE = "presence_csrf";

  /** File in the data directory holding the generated key when none is configured. */
  public static final String KEY_FILE = "web-session.key";

  /**
   * A signed-in visitor.
   *
   * @param subject the user ({@code sub})
   * @param email for display
   * @param expiresAt when the session ends
   */
  public record Session(String subject, String email, Instant expiresAt) {}

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();

  /** Longest cookie value read: a subject and an email of a few hundred bytes each fit easily. */
  private static final int MAX_COOKIE = 2048;

  private final byte[] key;
  private final Duration lifetime;
  private final Clock clock;

  public WebSessions(byte[] key, Duration lifetime, Clock clock) {
    this.key = key.clone();
    this.lifetime = lifetime;
    this.clock = clock;
  }

  /** Sessions keyed by {@code config.sessionSecret()}, or by the key file in {@code dataDir}. */
  public static WebSessions create(WebConfig config, Path dataDir, Clock clock) {
    byte[] key =
        config.sessionSecret().isEmpty()
            ? loadOrCreateKey(dataDir)
            : config.sessionSecret().getBytes(StandardCharsets.UTF_8);
    return new WebSessions(key, config.sessionLifetime(), clock);
  }

  private static byte[] loadOrCreateKey(Path dataDir) {
    Path file = dataDir.resolve(KEY_FILE);
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(dataDir);
        byte[] fresh = new byte[32];
        SecureRandoms.current().nextBytes(fresh);
        Path tmp = Files.createTempFile(dataDir, ".web-session", ".tmp");
        try {
          try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
          } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the data directory's own permissions protect the key.
          }
          Files.writeString(tmp, B64.encodeToString(fresh), StandardCharsets.US_ASCII);
          Files.move(tmp, file);
        } catch (FileAlreadyExistsException e) {
          // Another process made the key first; use theirs.
        } finally {
          Files.deleteIfExists(tmp);
        }
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

  /** The cookie value of a new session for {@code identity}. */
  public String issue(Identity identity) {
    Instant expires = clock.instant().plus(lifetime);
    String payload =
        "v1\n" + identity.subject() + "\n" + identity.email() + "\n" + expires.getEpochSecond();
    byte[] p = payload.getBytes(StandardCharsets.UTF_8);
    return B64.encodeToString(p) + "." + B64.encodeToString(mac("session", p));
  }

  /** The session in {@code cookieValue}, if it is well signed and not expired. */
  public Optional<Session> read(String cookieValue) {
    if (cookieValue == null || cookieValue.length() > MAX_COOKIE) {
      return Optional.empty();
    }
    int dot = cookieValue.indexOf('.');
    if (dot <= 0) {
      return Optional.empty();
    }
    byte[] payload;
    byte[] sig;
    try {
      payload = B64D.decode(cookieValue.substring(0, dot));
      sig = B64D.decode(cookieValue.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (!MessageDigest.isEqual(mac("session", payload), sig)) {
      return Optional.empty();
    }
    String[] parts = new String(payload, StandardCharsets.UTF_8).split("\n", -1);
    if (parts.length != 4 || !parts[0].equals("v1")) {
      return Optional.empty();
    }
    Instant expires;
    try {
      expires = Instant.ofEpochSecond(Long.parseLong(parts[3]));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    if (!clock.instant().isBefore(expires)) {
      return Optional.empty();
    }
    return Optional.of(new Session(parts[1], parts[2], expires));
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
