package org.presence.loadtest.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

/**
 * Mints identity assertions for virtual users from a private signing key in a JWK file (EC P-256
 * for ES256, or RSA for RS256) — on one machine the node's development key, {@code
 * presence-data/dev-identity.jwk}. User {@code n} gets the email {@code load-<n>@loadtest.invalid};
 * the subject is the email after {@code subjectPrefix} ({@code dev:} matches the node's development
 * identities). Signing costs about a tenth of a millisecond, so the engine mints a run's tokens
 * before it starts connecting.
 */
public final class TokenMinter {
  private final JWK key;
  private final JWSSigner signer;
  private final JWSAlgorithm algorithm;
  private final String issuer;
  private final String audience;
  private final String subjectPrefix;
  private final Duration lifetime;

  /** A minter for {@code key}; claims {@code iss}, {@code aud} and {@code sub} as described. */
  public TokenMinter(
      JWK key, String issuer, String audience, String subjectPrefix, Duration lifetime) {
    this.key = key;
    this.issuer = issuer;
    this.audience = audience;
    this.subjectPrefix = subjectPrefix;
    this.lifetime = lifetime;
    try {
      if (key instanceof ECKey ec && ec.isPrivate()) {
        this.signer = new ECDSASigner(ec);
        this.algorithm = JWSAlgorithm.ES256;
      } else if (key instanceof RSAKey rsa && rsa.isPrivate()) {
        this.signer = new RSASSASigner(rsa);
        this.algorithm = JWSAlgorithm.RS256;
      } else {
        throw new IllegalArgumentException(
            "the signing key must be a private EC (P-256) or RSA key; got " + key.getKeyType());
      }
    } catch (JOSEException e) {
      throw new IllegalArgumentException("unusable signing key: " + e.getMessage(), e);
    }
  }

  /** Loads a private JWK from {@code file}. */
  public static JWK load(Path file) {
    try {
      return JWK.parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException | ParseException e) {
      throw new IllegalArgumentException(
          "cannot read signing key " + file + ": " + e.getMessage(), e);
    }
  }

  /** The email of virtual user {@code user}. */
  public static String email(long user) {
    return "load-" + user + "@loadtest.invalid";
  }

  /** A signed assertion for virtual user {@code user}. */
  public String mint(long user) {
    return mintFor(email(user));
  }

  /** A signed assertion for {@code email} (the run's developer, say). */
  public String mintFor(String email) {
    return sign(
        signer,
        algorithm,
        key.getKeyID(),
        issuer,
        audience,
        subjectPrefix + email,
        email,
        lifetime);
  }

  /**
   * An assertion with the claims the gateway checks ({@code iss}, {@code aud}, {@code sub}, {@code
   * email}, issued now, valid from 5 s ago for {@code lifetime}, a fresh {@code jti}), signed with
   * {@code signer}; the load harness and the benchmarks mint theirs here.
   */
  public static String sign(
      JWSSigner signer,
      JWSAlgorithm algorithm,
      String keyId,
      String issuer,
      String audience,
      String subject,
      String email,
      Duration lifetime) {
    Instant now = Instant.now();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(issuer)
            .audience(audience)
            .subject(subject)
            .claim("email", email)
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now.minusSeconds(5)))
            .expirationTime(Date.from(now.plus(lifetime)))
            .jwtID(UUID.randomUUID().toString())
            .build();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(algorithm).keyID(keyId).type(JOSEObjectType.JWT).build(), claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign an assertion", e);
    }
    return jwt.serialize();
  }
}
