package org.presence.gateway.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Locale;
import java.util.UUID;
import org.presence.gateway.config.IdentityConfig;
import org.presence.protocol.id.SecureRandoms;

/**
 * The development identity of a single-node install: an ES256 key the node makes in its data
 * directory at first start ({@code dev-identity.jwk}, readable by its owner only), the tokens
 * {@code presence dev-token} signs with it, and the public key set the node trusts for them. Only
 * used when {@code identity.dev-signing} is on, which it is by default only for the embedded store
 * with no identity provider configured on a loopback {@code gateway.host}.
 *
 * <p>A development token's {@code sub} is {@code dev:} followed by the email in lower case, so the
 * same email is the same user across tokens and restarts.
 */
public final class DevIdentity {
  /** File name of the key in the data directory. */
  public static final String KEY_FILE = "dev-identity.jwk";

  private final ECKey key;
  private final Clock clock;

  private DevIdentity(ECKey key, Clock clock) {
    this.key = key;
    this.clock = clock;
  }

  /** Loads the key from {@code dataDir}, making it first if there is none. */
  public static DevIdentity loadOrCreate(Path dataDir) {
    return loadOrCreate(dataDir, Clock.systemUTC());
  }

  /** As {@link #loadOrCreate(Path)}, with the clock used for token times (tests). */
  public static DevIdentity loadOrCreate(Path dataDir, Clock clock) {
    Path file = dataDir.resolve(KEY_FILE);
    try {
      if (!Files.exists(file)) {
        create(file);
      }
      return new DevIdentity(ECKey.parse(Files.readString(file, StandardCharsets.UTF_8)), clock);
    } catch (IOException | ParseException | JOSEException e) {
      throw new IllegalStateException("cannot load development identity key " + file + ": " + e, e);
    }
  }

  private static void create(Path file) throws IOException, JOSEException {
    ECKey generated =
        new ECKeyGenerator(Curve.P_256)
            .keyID("dev-" + UUID.randomUUID())
            .keyUse(KeyUse.SIGNATURE)
            .algorithm(JWSAlgorithm.ES256)
            .generate();
    KeyFiles.createOnce(file, generated.toJSONString(), StandardCharsets.UTF_8);
  }

  /** The {@code sub} a development token for {@code email} carries. */
  public static String subjectFor(String email) {
    return "dev:" + email.trim().toLowerCase(Locale.ROOT);
  }

  /** A signed token for {@code email}, valid for {@code lifetime}, for {@code audience}. */
  public String mint(String email, Duration lifetime, String audience) {
    Instant now = clock.instant();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(IdentityConfig.DEV_ISSUER)
            .audience(audience)
            .subject(subjectFor(email))
            .claim("email", email.trim())
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now))
            .expirationTime(Date.from(now.plus(lifetime)))
            .jwtID(SecureRandoms.uuid().toString())
            .build();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(key.getKeyID())
                .type(JOSEObjectType.JWT)
                .build(),
            claims);
    try {
      jwt.sign(new ECDSASigner(key));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign development token", e);
    }
    return jwt.serialize();
  }

  /** The public key set that verifies this node's development tokens. */
  public JWKSet publicKeys() {
    return new JWKSet(key.toPublicJWK());
  }
}
