package org.presence.gateway.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.codahale.metrics.MetricRegistry;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.Ed25519Signer;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.IdentityConfig;
import org.presence.gateway.testing.LogCapture;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class JwtIdentityVerifierTest {
  private static final String ISSUER = "https://accounts.example.com";
  private static final Duration SKEW = Duration.ofSeconds(60);

  @TempDir Path dir;

  /** A clock tests move by hand. */
  static final class MovableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-11-21T12:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  private final MovableClock clock = new MovableClock();
  private final MetricRegistry metrics = new MetricRegistry();
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();

  @AfterEach
  void stopServers() {
    servers.forEach(s -> s.stop(0));
  }

  private JWTClaimsSet.Builder claims() {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .audience("presence")
        .subject("user-42")
        .claim("email", "ada@example.com")
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(Duration.ofHours(1))));
  }

  private static String sign(JWK key, JWSAlgorithm alg, JWSSigner signer, JWTClaimsSet claims)
      throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(alg).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
            claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  private JwtIdentityVerifier verifierWith(JwksSource provider) {
    return new JwtIdentityVerifier(
        null,
        new JwtIdentityVerifier.TrustedIssuer(ISSUER, provider),
        "presence",
        SKEW,
        1000,
        clock,
        metrics);
  }

  private static Identity ok(JwtIdentityVerifier v, String token) {
    try {
      return v.verify(token).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static ErrorCode error(JwtIdentityVerifier v, String token) {
    try {
      v.verify(token).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c =
          e.getCause() instanceof java.util.concurrent.CompletionException ce
              ? ce.getCause()
              : e.getCause();
      assertThat(c).isInstanceOf(ProtocolException.class);
      return ((ProtocolException) c).code();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("token was accepted");
  }

  @Test
  void verify_acceptsRs256Es256AndEdDsa() throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa").generate();
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    OctetKeyPair ed = new OctetKeyPairGenerator(Curve.Ed25519).keyID("ed").generate();
    JwtIdentityVerifier v =
        verifierWith(
            JwksSource.fixed(
                new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK(), ed.toPublicJWK()))));
    Identity a = ok(v, sign(rsa, JWSAlgorithm.RS256, new RSASSASigner(rsa), claims().build()));
    Identity b = ok(v, sign(ec, JWSAlgorithm.ES256, new ECDSASigner(ec), claims().build()));
    Identity c = ok(v, sign(ed, JWSAlgorithm.EdDSA, new Ed25519Signer(ed), claims().build()));
    assertThat(List.of(a, b, c))
        .allSatisfy(
            id -> {
              assertThat(id.subject()).isEqualTo("user-42");
              assertThat(id.email()).isEqualTo("ada@example.com");
            });
  }

  @Test
  void verify_refusesHmacNoneGarbageAndForeignSignatures() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    ECKey other = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    JwtIdentityVerifier v = verifierWith(JwksSource.fixed(new JWKSet(ec.toPublicJWK())));
    byte[] secret = new byte[32];
    String hmac = sign(ec, JWSAlgorithm.HS256, new MACSigner(secret), claims().build());
    assertThat(error(v, hmac)).isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(error(v, new PlainJWT(claims().build()).serialize()))
        .isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(error(v, "not.a.jwt")).isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(error(v, "")).isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(error(v, "x".repeat(20_000))).isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(error(v, sign(other, JWSAlgorithm.ES256, new ECDSASigner(other), claims().build())))
        .isEqualTo(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void verify_checksExpiryNotBeforeWithSkew() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    JwtIdentityVerifier v = verifierWith(JwksSource.fixed(new JWKSet(ec.toPublicJWK())));
    Instant now = clock.instant();
    String expiredRecently =
        sign(
            ec,
            JWSAlgorithm.ES256,
            new ECDSASigner(ec),
            claims().expirationTime(Date.from(now.minusSeconds(30))).build());
    assertThat(ok(v, expiredRecently).subject()).isEqualTo("user-42");
    String expired =
        sign(
            ec,
            JWSAlgorithm.ES256,
            new ECDSASigner(ec),
            claims().expirationTime(Date.from(now.minusSeconds(120))).build());
    assertThat(error(v, expired)).isEqualTo(ErrorCode.ASSERTION_EXPIRED);
    String future =
        sign(
            ec,
            JWSAlgorithm.ES256,
            new ECDSASigner(ec),
            claims().notBeforeTime(Date.from(now.plusSeconds(600))).build());
    assertThat(error(v, future)).isEqualTo(ErrorCode.ASSERTION_EXPIRED);
    String noExpiry =
        sign(ec, JWSAlgorithm.ES256, new ECDSASigner(ec), claims().expirationTime(null).build());
    assertThat(error(v, noExpiry)).isEqualTo(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void verify_checksIssuerAudienceAndSubject() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    JwtIdentityVerifier v = verifierWith(JwksSource.fixed(new JWKSet(ec.toPublicJWK())));
    ECDSASigner s = new ECDSASigner(ec);
    assertThat(
            error(
                v,
                sign(ec, JWSAlgorithm.ES256, s, claims().issuer("https://evil.example").build())))
        .isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(
            error(v, sign(ec, JWSAlgorithm.ES256, s, claims().audience("other-service").build())))
        .isEqualTo(ErrorCode.INVALID_ASSERTION);
    assertThat(error(v, sign(ec, JWSAlgorithm.ES256, s, claims().subject(null).build())))
        .isEqualTo(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void verify_cachesUntilExpiry() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec").generate();
    JwtIdentityVerifier v = verifierWith(JwksSource.fixed(new JWKSet(ec.toPublicJWK())));
    String token =
        sign(
            ec,
            JWSAlgorithm.ES256,
            new ECDSASigner(ec),
            claims().expirationTime(Date.from(clock.instant().plusSeconds(300))).build());
    ok(v, token);
    ok(v, token);
    ok(v, token);
    assertThat(metrics.counter("presence.identity.cache.misses").getCount()).isEqualTo(1);
    assertThat(metrics.counter("presence.identity.cache.hits").getCount()).isEqualTo(2);
    clock.advance(Duration.ofMinutes(10));
    assertThat(error(v, token)).isEqualTo(ErrorCode.ASSERTION_EXPIRED);
  }

  @Test
  void jwksUrl_refreshesOnUnknownKidButNotMoreThanTheMinimumInterval() throws Exception {
    ECKey first = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    ECKey rotated = new ECKeyGenerator(Curve.P_256).keyID("k2").generate();
    AtomicReference<JWKSet> served = new AtomicReference<>(new JWKSet(first.toPublicJWK()));
    AtomicInteger fetches = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/jwks.json",
        ex -> {
          fetches.incrementAndGet();
          byte[] body = served.get().toString().getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
    servers.add(server);
    JwksSource source =
        JwksSource.url(
            URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json"),
            HttpClient.newHttpClient(),
            Duration.ofSeconds(5),
            Duration.ofHours(1),
            Duration.ofSeconds(30),
            clock);
    JwtIdentityVerifier v = verifierWith(source);

    assertThat(
            ok(v, sign(first, JWSAlgorithm.ES256, new ECDSASigner(first), claims().build()))
                .subject())
        .isEqualTo("user-42");
    assertThat(fetches).hasValue(1);

    // The provider rotates; a token with the new kid makes the set refresh (after the interval).
    served.set(new JWKSet(List.of(first.toPublicJWK(), rotated.toPublicJWK())));
    clock.advance(Duration.ofSeconds(31));
    String withNewKey =
        sign(rotated, JWSAlgorithm.ES256, new ECDSASigner(rotated), claims().build());
    assertThat(ok(v, withNewKey).subject()).isEqualTo("user-42");
    assertThat(fetches).hasValue(2);

    // A flood of made-up kids within the interval costs no fetch.
    for (int i = 0; i < 50; i++) {
      ECKey bogus = new ECKeyGenerator(Curve.P_256).keyID("bogus-" + i).generate();
      assertThat(
              error(v, sign(bogus, JWSAlgorithm.ES256, new ECDSASigner(bogus), claims().build())))
          .isEqualTo(ErrorCode.INVALID_ASSERTION);
    }
    assertThat(fetches).hasValue(2);
  }

  @Test
  void jwksUrl_whenProviderUnreachable_thenIdentityUnavailable() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("k").generate();
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    JwksSource source =
        JwksSource.url(
            URI.create("http://127.0.0.1:" + port + "/jwks.json"),
            HttpClient.newHttpClient(),
            Duration.ofSeconds(2),
            Duration.ofHours(1),
            Duration.ofSeconds(30),
            clock);
    List<String> warnings;
    try (LogCapture log = LogCapture.of(JwksSource.class)) {
      JwtIdentityVerifier v = verifierWith(source);
      assertThat(error(v, sign(ec, JWSAlgorithm.ES256, new ECDSASigner(ec), claims().build())))
          .isEqualTo(ErrorCode.IDENTITY_UNAVAILABLE);
      warnings = log.at(ch.qos.logback.classic.Level.WARN);
    }
    // The line says why (the connection was refused), not "null".
    assertThat(warnings)
        .anySatisfy(
            l ->
                assertThat(l)
                    .startsWith("cannot load identity keys from http://127.0.0.1:" + port)
                    .doesNotEndWith("null")
                    .containsAnyOf("ConnectException", "refused"));
  }

  @Test
  void keySetReplaced_sameKidNewKey_verifiesWithTheNewKeyOnly_kidlessTokensTryEveryKey()
      throws Exception {
    ECKey before = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    ECKey after = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    ECKey other = new ECKeyGenerator(Curve.P_256).keyID("k9").generate();
    AtomicReference<JWKSet> set =
        new AtomicReference<>(new JWKSet(List.of(other.toPublicJWK(), before.toPublicJWK())));
    JwtIdentityVerifier v =
        verifierWith(
            new JwksSource() {
              @Override
              public JWKSet current() {
                return set.get();
              }

              @Override
              public java.util.concurrent.CompletionStage<JWKSet> refreshForUnknownKey() {
                return java.util.concurrent.CompletableFuture.completedFuture(set.get());
              }
            });
    String old = sign(before, JWSAlgorithm.ES256, new ECDSASigner(before), claims().build());
    assertThat(v.verify(old).toCompletableFuture().get().subject()).isEqualTo("user-42");
    // Signed by a key of the set but naming no kid: every key is tried.
    SignedJWT kidless =
        new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).build(), claims().build());
    kidless.sign(new ECDSASigner(before));
    assertThat(v.verify(kidless.serialize()).toCompletableFuture().get().subject())
        .isEqualTo("user-42");

    // The provider replaces the key under the same kid: the new set's key checks new tokens.
    set.set(new JWKSet(List.of(other.toPublicJWK(), after.toPublicJWK())));
    String fresh =
        sign(after, JWSAlgorithm.ES256, new ECDSASigner(after), claims().subject("u2").build());
    assertThat(v.verify(fresh).toCompletableFuture().get().subject()).isEqualTo("u2");
    String stale =
        sign(before, JWSAlgorithm.ES256, new ECDSASigner(before), claims().subject("u3").build());
    assertThatThrownBy(() -> v.verify(stale).toCompletableFuture().join())
        .hasCauseInstanceOf(ProtocolException.class)
        .cause()
        .extracting(e -> ((ProtocolException) e).code())
        .isEqualTo(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void jwksFile_isReadAndPrivatePartsAreIgnored() throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("file-key").generate();
    Path file = dir.resolve("jwks.json");
    Files.writeString(file, new JWKSet(rsa).toString(false));
    JwtIdentityVerifier v =
        verifierWith(JwksSource.file(file, Duration.ofHours(1), Duration.ofSeconds(30), clock));
    assertThat(
            ok(v, sign(rsa, JWSAlgorithm.RS256, new RSASSASigner(rsa), claims().build())).subject())
        .isEqualTo("user-42");
  }

  @Test
  void jwksFile_aBrokenVersionReadAtRunTime_keepsTheLastGoodKeys() throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("file-key").generate();
    Path file = dir.resolve("jwks.json");
    Files.writeString(file, new JWKSet(rsa).toString(false));
    JwksSource source = JwksSource.file(file, Duration.ofMinutes(1), Duration.ofSeconds(30), clock);
    JwtIdentityVerifier v = verifierWith(source);
    assertThat(
            ok(v, sign(rsa, JWSAlgorithm.RS256, new RSASSASigner(rsa), claims().build())).subject())
        .isEqualTo("user-42");
    Files.writeString(file, "garbage");
    clock.advance(Duration.ofMinutes(2));
    // A forced reload reads the broken file, logs it and keeps the set it had.
    assertThat(
            source.refreshForUnknownKey().toCompletableFuture().get(5, TimeUnit.SECONDS).getKeys())
        .hasSize(1);
    assertThat(source.unavailable()).isFalse();
    assertThat(
            ok(v, sign(rsa, JWSAlgorithm.RS256, new RSASSASigner(rsa), claims().build())).subject())
        .isEqualTo("user-42");
  }

  @Test
  void devIdentity_tokensVerifyOnlyWhenDevSigningIsOn() throws Exception {
    DevIdentity dev = DevIdentity.loadOrCreate(dir, clock);
    String token = dev.mint("bob@example.com", Duration.ofHours(1), "presence");
    IdentityConfig on = config(true, "");
    Identity id =
        IdentityVerifiers.create(on, dev, metrics, clock)
            .verify(token)
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertThat(id.subject()).isEqualTo("dev:bob@example.com");
    assertThat(id.email()).isEqualTo("bob@example.com");

    Path jwks = dir.resolve("provider.json");
    Files.writeString(
        jwks,
        new JWKSet(new ECKeyGenerator(Curve.P_256).keyID("p").generate().toPublicJWK()).toString());
    JwtIdentityVerifier off =
        IdentityVerifiers.create(config(false, jwks.toString()), dev, metrics, clock);
    assertThat(error(off, token)).isEqualTo(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void refreshingSource_loadsOffTheCallersThread() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("k").generate();
    AtomicReference<Thread> loadedOn = new AtomicReference<>();
    JwksSource source =
        new JwksSource.Refreshing(
            Duration.ofHours(1), Duration.ofSeconds(30), clock, "test", "test") {
          @Override
          java.util.concurrent.CompletionStage<JWKSet> load() {
            loadedOn.set(Thread.currentThread());
            return java.util.concurrent.CompletableFuture.completedFuture(
                new JWKSet(ec.toPublicJWK()));
          }
        };
    JwtIdentityVerifier v = verifierWith(source);
    assertThat(ok(v, sign(ec, JWSAlgorithm.ES256, new ECDSASigner(ec), claims().build())).subject())
        .isEqualTo("user-42");
    assertThat(loadedOn.get()).isNotNull().isNotSameAs(Thread.currentThread());
  }

  private static IdentityConfig config(boolean dev, String jwksFile) {
    return new IdentityConfig(
        dev,
        "",
        jwksFile,
        "",
        "presence",
        SKEW,
        Duration.ofHours(1),
        Duration.ofMinutes(15),
        Duration.ofSeconds(30),
        Duration.ofSeconds(5),
        1000);
  }

  @Test
  void errorsAreProtocolExceptionsWithoutStackTraces() throws Exception {
    JwtIdentityVerifier v = verifierWith(JwksSource.fixed(new JWKSet()));
    assertThatThrownBy(() -> v.verify("garbage").toCompletableFuture().join())
        .hasCauseInstanceOf(ProtocolException.class);
  }
}
