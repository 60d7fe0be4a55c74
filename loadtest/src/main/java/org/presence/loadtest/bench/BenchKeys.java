package org.presence.loadtest.bench;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import org.presence.loadtest.identity.TokenMinter;

/**
 * The identity provider of a benchmark run: an RS256 key whose public half the server reads from a
 * JWKS file ({@code identity.jwks-file}), and the tokens it signs, one distinct token per session
 * so that every connect costs a signature check (RS256 is the cheapest of the three algorithms to
 * verify).
 */
final class BenchKeys {
  /** The {@code aud} of the tokens; the server's default {@code identity.audience}. */
  static final String AUDIENCE = "presence";

  private final RSAKey key;
  private final RSASSASigner signer;

  private BenchKeys(RSAKey key) throws JOSEException {
    this.key = key;
    this.signer = new RSASSASigner(key);
  }

  /** A fresh 2048-bit key. */
  static BenchKeys generate() {
    try {
      return new BenchKeys(
          new RSAKeyGenerator(2048)
              .keyID("bench-" + UUID.randomUUID())
              .keyUse(KeyUse.SIGNATURE)
              .algorithm(JWSAlgorithm.RS256)
              .generate());
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes the public key set to {@code file}. */
  void writeJwks(Path file) throws IOException {
    Files.writeString(file, new JWKSet(key.toPublicJWK()).toString(true), StandardCharsets.UTF_8);
  }

  /** A token for user {@code subject}, valid for {@code lifetime}. */
  String mint(String subject, Duration lifetime) {
    return TokenMinter.sign(
        signer,
        JWSAlgorithm.RS256,
        key.getKeyID(),
        "bench",
        AUDIENCE,
        subject,
        subject + "@bench.example",
        lifetime);
  }

  /** {@code n} two-hour tokens for users {@code prefix-0 .. prefix-(n-1)}, minted on all cores. */
  List<String> mintMany(int n, String prefix) {
    return mintMany(n, prefix, Duration.ofHours(2));
  }

  /** {@code n} tokens valid for {@code lifetime}, minted on all cores. */
  List<String> mintMany(int n, String prefix, Duration lifetime) {
    return IntStream.range(0, n)
        .parallel()
        .mapToObj(i -> mint(prefix + "-" + i, lifetime))
        .toList();
  }
}
