package org.presence.gateway.identity;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.ByteBuffer;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.config.IdentityConfig;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.Sha256;

/**
 * {@link IdentityVerifier} for signed JWTs, with nimbus-jose-jwt. Accepts RS256, ES256 and EdDSA
 * (Ed25519) signatures only; checks {@code exp} (required), {@code nbf}, {@code iss} and {@code
 * aud} with a small clock skew; the user is {@code sub}.
 *
 * <p>Keys come from trusted issuers: the development key (tokens with {@code iss} {@value
 * IdentityConfig#DEV_ISSUER}, when development signing is on) and the configured provider (a JWKS
 * URL or file; its {@code iss} must match {@code identity.issuer} when that is set) and Presence's
 * own keys ({@link PresenceKeys}, {@code iss} {@value PresenceKeys#ISSUER}: the tokens of paired
 * devices, which name their device in {@value PresenceKeys#DEVICE_CLAIM}). A token naming a key the
 * provider's set lacks makes the set refresh (rate-limited) before it is refused.
 *
 * <p>Verified tokens are cached by the SHA-256 of the token until they expire, so a reconnect storm
 * does not verify the same signature again and again. Signature checks are CPU work of a fraction
 * of a millisecond and run on the caller's thread; only key fetches are asynchronous.
 */
public final class JwtIdentityVerifier implements IdentityVerifier {
  private static final Set<JWSAlgorithm> ALGORITHMS =
      Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256, JWSAlgorithm.EdDSA);

  /** Tokens longer than this are refused unparsed. */
  static final int MAX_TOKEN_LENGTH = 16 * 1024;

  /** A source of keys and the {@code iss} its tokens carry ({@code null}: any issuer). */
  public record TrustedIssuer(String issuer, JwksSource keys) {}

  private final TrustedIssuer dev;
  private final TrustedIssuer provider;
  private final TrustedIssuer own;
  private final String audience;
  private final Duration skew;
  private final Clock clock;
  private final Cache<TokenKey, Identity> verified;

  /** The keys of {@link #dev}, {@link #provider} and {@link #own}, indexed per key set. */
  private final IssuerKeys devKeys = new IssuerKeys();

  private final IssuerKeys providerKeys = new IssuerKeys();
  private final IssuerKeys ownKeys = new IssuerKeys();

  private final Counter hits;
  private final Counter misses;

  /**
   * @param dev the development issuer, or {@code null} when development signing is off
   * @param provider the configured provider, or {@code null} when none is configured
   * @param audience required {@code aud}
   * @param skew clock skew tolerated on {@code exp} and {@code nbf}
   * @param cacheSize most verified tokens kept
   * @param clock the clock (tests use a fixed one)
   * @param metrics registry for the cache hit and miss counters
   */
  public JwtIdentityVerifier(
      TrustedIssuer dev,
      TrustedIssuer provider,
      String audience,
      Duration skew,
      int cacheSize,
      Clock clock,
      MetricRegistry metrics) {
    this(dev, provider, null, audience, skew, cacheSize, clock, metrics);
  }

  /**
   * As the other constructor, also trusting {@code own}: Presence's own issuer ({@link
   * PresenceKeys#ISSUER}) of paired devices' tokens, or {@code null}.
   */
  public JwtIdentityVerifier(
      TrustedIssuer dev,
      TrustedIssuer provider,
      TrustedIssuer own,
      String audience,
      Duration skew,
      int cacheSize,
      Clock clock,
      MetricRegistry metrics) {
    this.dev = dev;
    this.provider = provider;
    this.own = own;
    this.audience = audience;
    this.skew = skew;
    this.clock = clock;
    this.verified =
        Caffeine.newBuilder()
            .maximumSize(cacheSize)
            // The cache's upkeep (eviction, expiry) runs on the thread that verified, amortised
            // over its calls, instead of as a common-pool task: a connect storm puts a token per
            // connect, and each put's task cost the event loop a thread wake-up.
            .executor(Runnable::run)
            .expireAfter(
                new Expiry<TokenKey, Identity>() {
                  @Override
                  public long expireAfterCreate(TokenKey key, Identity id, long currentTime) {
                    long nanos =
                        Duration.between(clock.instant(), id.expiresAt().plus(skew)).toNanos();
                    return Math.max(0, nanos);
                  }

                  @Override
                  public long expireAfterUpdate(
                      TokenKey key, Identity id, long currentTime, long currentDuration) {
                    return currentDuration;
                  }

                  @Override
                  public long expireAfterRead(
                      TokenKey key, Identity id, long currentTime, long currentDuration) {
                    return currentDuration;
                  }
                })
            .build();
    this.hits = metrics.counter("presence.identity.cache.hits");
    this.misses = metrics.counter("presence.identity.cache.misses");
  }

  @Override
  public CompletionStage<Identity> verify(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
      return fail(ErrorCode.INVALID_ASSERTION, null);
    }
    TokenKey key = TokenKey.of(token);
    Identity cached = verified.getIfPresent(key);
    if (cached != null && !clock.instant().isAfter(cached.expiresAt().plus(skew))) {
      hits.inc();
      return CompletableFuture.completedFuture(cached);
    }
    misses.inc();
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(token);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return fail(ErrorCode.INVALID_ASSERTION, "not a signed JWT");
    }
    if (!ALGORITHMS.contains(jwt.getHeader().getAlgorithm())) {
      return fail(ErrorCode.INVALID_ASSERTION, "unsupported algorithm");
    }
    TrustedIssuer issuer = issuerFor(claims.getIssuer());
    if (issuer == null) {
      return fail(ErrorCode.INVALID_ASSERTION, "untrusted issuer");
    }
    IssuerKeys keys = keysOf(issuer);
    if (verifySignature(jwt, keys.index(issuer.keys().current()))) {
      try {
        return CompletableFuture.completedFuture(checkClaims(key, claims));
      } catch (ProtocolException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    if (issuer.keys().unavailable()
        || keys.index(issuer.keys().current()).candidates(jwt).isEmpty()) {
      // An unknown key (or no keys yet): the provider may have rotated; refresh and try once more.
      return issuer
          .keys()
          .refreshForUnknownKey()
          .thenApply(
              set -> {
                if (issuer.keys().unavailable()) {
                  throw new ProtocolException(ErrorCode.IDENTITY_UNAVAILABLE, null);
                }
                if (!verifySignature(jwt, keys.index(set))) {
                  throw new ProtocolException(ErrorCode.INVALID_ASSERTION, "bad signature");
                }
                return checkClaims(key, claims);
              });
    }
    return fail(ErrorCode.INVALID_ASSERTION, "bad signature");
  }

  @Override
  public KeysCheck keysCheck() {
    if (provider == null) {
      return new KeysCheck("none", null);
    }
    JwksSource keys = provider.keys();
    if (!keys.unavailable()) {
      return new KeysCheck(keys.kind(), null);
    }
    keys.refreshForUnknownKey();
    return new KeysCheck(
        keys.kind(), "no identity keys loaded from " + keys.location() + " yet (errno 36)");
  }

  private TrustedIssuer issuerFor(String iss) {
    if (dev != null && IdentityConfig.DEV_ISSUER.equals(iss)) {
      return dev;
    }
    if (own != null && own.issuer().equals(iss)) {
      return own;
    }
    if (provider != null && (provider.issuer() == null || provider.issuer().equals(iss))) {
      return provider;
    }
    return null;
  }

  private IssuerKeys keysOf(TrustedIssuer issuer) {
    return issuer == dev ? devKeys : issuer == own ? ownKeys : providerKeys;
  }

  private Identity checkClaims(TokenKey key, JWTClaimsSet claims) {
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw new ProtocolException(ErrorCode.INVALID_ASSERTION, "no expiry");
    }
    if (now.isAfter(exp.toInstant().plus(skew))) {
      throw new ProtocolException(ErrorCode.ASSERTION_EXPIRED, null);
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(skew).isBefore(nbf.toInstant())) {
      throw new ProtocolException(ErrorCode.ASSERTION_EXPIRED, "not valid yet");
    }
    List<String> aud = claims.getAudience();
    if (aud == null || !aud.contains(audience)) {
      throw new ProtocolException(ErrorCode.INVALID_ASSERTION, "wrong audience");
    }
    String sub = claims.getSubject();
    if (sub == null || sub.isBlank() || sub.length() > 255) {
      throw new ProtocolException(ErrorCode.INVALID_ASSERTION, "no subject");
    }
    String email;
    try {
      email = claims.getStringClaim("email");
    } catch (ParseException e) {
      email = null;
    }
    String paired = "";
    if (own != null && own.issuer().equals(claims.getIssuer())) {
      try {
        paired = claims.getStringClaim(PresenceKeys.DEVICE_CLAIM);
      } catch (ParseException e) {
        paired = null;
      }
      if (paired == null || paired.isEmpty()) {
        throw new ProtocolException(ErrorCode.INVALID_ASSERTION, "no paired device");
      }
    }
    Identity id = new Identity(sub, email == null ? "" : email, exp.toInstant(), paired);
    verified.put(key, id);
    return id;
  }

  private static boolean verifySignature(SignedJWT jwt, KeyIndex keys) {
    JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
    for (IndexedKey k : keys.candidates(jwt)) {
      try {
        JWSVerifier v = k.verifierFor(alg);
        if (v != null && jwt.verify(v)) {
          return true;
        }
      } catch (JOSEException | IllegalStateException e) {
        // A key that cannot check this signature; try the next one.
      }
    }
    return false;
  }

  /**
   * The index of an issuer's current key set: rebuilt when the source hands out another set (a
   * refresh), keeping the verifiers of keys that are still in it.
   */
  private static final class IssuerKeys {
    private volatile KeyIndex index;

    KeyIndex index(JWKSet set) {
      KeyIndex i = index;
      if (i != null && i.set() == set) {
        return i;
      }
      KeyIndex next = KeyIndex.of(set, i);
      index = next;
      return next;
    }
  }

  /** A key set's keys by {@code kid}, and all of them, each with its verifier once built. */
  private record KeyIndex(JWKSet set, Map<String, List<IndexedKey>> byKid, List<IndexedKey> all) {
    static KeyIndex of(JWKSet set, KeyIndex previous) {
      List<IndexedKey> all = new ArrayList<>();
      Map<String, List<IndexedKey>> byKid = new HashMap<>();
      for (JWK k : set.getKeys()) {
        IndexedKey known = previous == null ? null : previous.find(k);
        IndexedKey ik = known != null ? known : new IndexedKey(k);
        all.add(ik);
        if (k.getKeyID() != null) {
          byKid.computeIfAbsent(k.getKeyID(), x -> new ArrayList<>()).add(ik);
        }
      }
      return new KeyIndex(set, byKid, all);
    }

    /** The keys that may have signed {@code jwt}: the ones its {@code kid} names, else all. */
    List<IndexedKey> candidates(SignedJWT jwt) {
      String kid = jwt.getHeader().getKeyID();
      return kid == null ? all : byKid.getOrDefault(kid, List.of());
    }

    private IndexedKey find(JWK k) {
      List<IndexedKey> same = k.getKeyID() == null ? all : byKid.get(k.getKeyID());
      if (same != null) {
        for (IndexedKey ik : same) {
          if (ik.key.equals(k)) {
            return ik;
          }
        }
      }
      return null;
    }
  }

  /**
   * A key and its verifier, built on first use (nimbus verifiers are thread-safe; two threads may
   * both build it once), so a connect storm does not decode and convert the same public key for
   * every token.
   */
  private static final class IndexedKey {
    final JWK key;
    private volatile JWSVerifier verifier;

    IndexedKey(JWK key) {
      this.key = key;
    }

    /** The verifier of the key for {@code alg}, or {@code null} when it cannot check that. */
    JWSVerifier verifierFor(JWSAlgorithm alg) throws JOSEException {
      boolean fits =
          (alg.equals(JWSAlgorithm.RS256) && key instanceof RSAKey)
              || (alg.equals(JWSAlgorithm.ES256) && key instanceof ECKey)
              || (alg.equals(JWSAlgorithm.EdDSA) && key instanceof OctetKeyPair);
      if (!fits) {
        return null;
      }
      JWSVerifier v = verifier;
      if (v != null) {
        return v;
      }
      if (key instanceof RSAKey rsa) {
        v = new RSASSAVerifier(rsa);
      } else if (key instanceof ECKey ec) {
        v = new ECDSAVerifier(ec);
      } else {
        v = new Ed25519Verifier(((OctetKeyPair) key).toPublicJWK());
      }
      verifier = v;
      return v;
    }
  }

  /** A verified token's cache key: its SHA-256, as four longs (48 bytes, no text). */
  private record TokenKey(long a, long b, long c, long d) {
    static TokenKey of(String token) {
      byte[] h = Sha256.of(token);
      ByteBuffer bb = ByteBuffer.wrap(h);
      return new TokenKey(bb.getLong(), bb.getLong(), bb.getLong(), bb.getLong());
    }
  }

  private static CompletionStage<Identity> fail(ErrorCode code, String detail) {
    return CompletableFuture.failedFuture(new ProtocolException(code, detail));
  }
}
