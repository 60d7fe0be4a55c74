package org.presence.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.presence.gateway.config.OidcConfig;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.net.AddressRateLimiter;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.SecureRandoms;
import org.presence.protocol.id.Sha256;
import org.presence.protocol.model.ShownText;
import org.presence.store.db.SignInRetention;
import org.presence.store.error.RateLimitedLog;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sign-in for people with an OpenID Connect provider: the authorization code flow with PKCE (S256),
 * {@code state} and {@code nonce}, built and checked with nimbus's oauth2-oidc-sdk.
 *
 * <p>{@link #start} makes a fresh state, nonce and code verifier, stores them in {@code
 * oidc_logins} (the state hashed, bound to the browser's anti-forgery nonce, expiring after {@code
 * identity.oidc.login-lifetime}) and answers the provider's authorization URL. {@link #finish}
 * checks that the same browser came back and only then takes the row for the returned state out of
 * the table (so a state works once, and another browser's callback does not spend it), redeems the
 * code at the token endpoint (with the verifier and the client secret), and validates the ID token
 * with {@link IDTokenValidator}: issuer, audience, signature by a key of the provider's JWKS, and
 * nonce; then on the node's {@link Clock} (not the system clock that validator uses) expiry, {@code
 * nbf} (not before) and an issue time not ahead, with {@code identity.clock-skew}; then the
 * authorized party (with several audiences {@code azp} must be present; when present it must be
 * this client). A subject that is not one line of visible text ({@link ShownText}) is refused.
 *
 * <p>Every call to the provider (discovery, token endpoint, key set) goes through the {@link
 * GuardedHttpClient}, off the event loops and under the node's outbound address policy. Discovery
 * and the key set are fetched once and kept; a token signed by a key the kept set lacks fetches the
 * set again, at most every {@link #MIN_KEY_REFRESH}.
 *
 * <p>The user is {@code oidc:<tag>:<sub>} where {@code <tag>} is the first 12 characters of
 * base64url(SHA-256(issuer)): the provider's subject, scoped by its issuer, at most 255 characters.
 * The {@code email} claim is for display only, and taken only with {@code email_verified} true (the
 * JSON boolean or the string {@code "true"}).
 */
public final class OidcSignIn {
  private static final Logger LOG = LoggerFactory.getLogger(OidcSignIn.class);

  /**
   * The reason's detail of every provider answer that fails a check of its token answer or ID token
   * (signature, issuer, audience, nonce, times, authorized party, algorithm): fixed, what the
   * visitor sees; the log says which check failed ({@link #unverified}).
   */
  public static final String UNVERIFIED =
      "the sign-in provider's answer could not be verified: start again from the sign-in page";

  /** How often refused answers are logged, however many are refused meanwhile. */
  static final Duration LOG_REFUSALS_EVERY = Duration.ofSeconds(10);

  /** Per node (an instance's), so a flood of refusals writes a line per interval. */
  private final RateLimitedLog refusals = new RateLimitedLog(LOG, LOG_REFUSALS_EVERY);

  /** The callback path on this node (the redirect URI registered at the provider). */
  public static final String CALLBACK = "/signin/callback";

  /** A key set is fetched again for an unknown key at most this often. */
  static final Duration MIN_KEY_REFRESH = Duration.ofSeconds(30);

  private static final int MAX_METADATA_BYTES = 64 * 1024;
  private static final int MAX_TOKEN_BYTES = 64 * 1024;
  private static final int MAX_SUB = 255;

  /**
   * The longest {@code next} a started sign-in stores; a longer one is stored as {@code /}, so a
   * row of {@code oidc_logins} stays a few hundred bytes whatever the form carried.
   */
  static final int MAX_NEXT = 512;

  /**
   * A signed-in person.
   *
   * @param identity the user and email
   * @param next where the sign-in started, a path on this node
   */
  public record Result(Identity identity, String next) {}

  private record Login(String browserHash, String nonce, String verifier, String next) {}

  /** The row taken for a state ({@code null}: none), or that another browser started it. */
  private record Taken(Login login, boolean otherBrowser) {}

  private final OidcConfig config;
  private final GuardedHttpClient http;
  private final Db db;
  private final Supplier<String> baseUrl;
  private final Duration clockSkew;
  private final Clock clock;
  private final String tag;
  private final AddressRateLimiter starts;
  private final AtomicReference<CompletableFuture<OIDCProviderMetadata>> metadata =
      new AtomicReference<>();
  private final AtomicReference<JWKSet> keys = new AtomicReference<>();
  private volatile Instant keysFetched = Instant.MIN;

  public OidcSignIn(
      OidcConfig config,
      GuardedHttpClient http,
      Db db,
      Supplier<String> baseUrl,
      Duration clockSkew,
      Clock clock) {
    this.config = config;
    this.http = http;
    this.db = db;
    this.baseUrl = baseUrl;
    this.clockSkew = clockSkew;
    this.clock = clock;
    this.tag = tag(config.issuer());
    this.starts = new AddressRateLimiter(config.startRate(), config.startBurst());
  }

  /**
   * Whether {@code address} may start a sign-in now ({@code identity.oidc.start-rate}, {@code
   * start-burst}): 0 if so (a token is taken), else the whole seconds to wait (a {@code
   * Retry-After}).
   */
  public long startWait(InetAddress address) {
    long now = System.nanoTime();
    return starts.tryAcquire(address, now) ? 0 : starts.retryAfterSeconds(address, now);
  }

  /** The user id prefix of this provider's users: {@code oidc:<tag>:}. */
  public String userPrefix() {
    return "oidc:" + tag + ":";
  }

  static String tag(String issuer) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(Sha256.of(issuer))
        .substring(0, 12);
  }

  /** The origin of the provider's authorization endpoint (for the sign-in page's form-action). */
  public String providerOrigin() {
    URI u = URI.create(config.issuer());
    return u.getScheme() + "://" + u.getRawAuthority();
  }

  private static String randomValue() {
    byte[] b = new byte[32];
    SecureRandoms.current().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private URI redirectUri() {
    return URI.create(baseUrl.get() + CALLBACK);
  }

  /**
   * Starts a sign-in for the browser whose anti-forgery nonce is {@code browserNonce}, to come back
   * to {@code next}; completes with the provider's authorization URL.
   */
  public CompletionStage<URI> start(String browserNonce, String next) {
    // Nimbus's default constructors draw from the JDK's default SecureRandom, which reads
    // /dev/urandom on every draw; start() runs on an event loop, so the values (32 random bytes,
    // base64url, as Nimbus makes them) come from this thread's generator.
    State state = new State(randomValue());
    Nonce nonce = new Nonce(randomValue());
    CodeVerifier verifier = new CodeVerifier(randomValue());
    Instant now = clock.instant();
    String stored = next == null || next.length() > MAX_NEXT ? "/" : next;
    return metadata()
        .thenCompose(
            meta ->
                db.call(
                        h -> {
                          SignInRetention.someExpiredOidcLogins(h, now);
                          h.createUpdate(
                                  "INSERT INTO oidc_logins (state_hash, browser_hash, nonce,"
                                      + " code_verifier, next_path, expires_at) VALUES (:s, :b,"
                                      + " :n, :v, :next, :exp)")
                              .bind("s", WebSessions.hash(state.getValue()))
                              .bind("b", WebSessions.hash(browserNonce))
                              .bind("n", nonce.getValue())
                              .bind("v", verifier.getValue())
                              .bind("next", stored)
                              .bind("exp", Timestamps.bind(now.plus(config.loginLifetime())))
                              .execute();
                          return meta;
                        })
                    .thenApply(
                        m ->
                            new AuthenticationRequest.Builder(
                                    ResponseType.CODE,
                                    new Scope(config.scopes().toArray(String[]::new)),
                                    new ClientID(config.clientId()),
                                    redirectUri())
                                .endpointURI(m.getAuthorizationEndpointURI())
                                .state(state)
                                .nonce(nonce)
                                .codeChallenge(verifier, CodeChallengeMethod.S256)
                                .build()
                                .toURI()));
  }

  /**
   * Finishes a sign-in from the provider's answer ({@code query}: {@code code} and {@code state},
   * or {@code error}) in the browser whose anti-forgery nonce is {@code browserNonce} ({@code null}
   * when the browser has none). Fails with a {@link ProtocolException} ({@code UNAUTHORIZED})
   * saying what was wrong, or, for a token answer or ID token that fails a check, the fixed {@link
   * #UNVERIFIED} (the log says which check).
   */
  public CompletionStage<Result> finish(String browserNonce, Map<String, List<String>> query) {
    String error = first(query, "error");
    String code = first(query, "code");
    String state = first(query, "state");
    if (state == null || state.isEmpty() || state.length() > 512) {
      return refused("the provider's answer has no sign-in state");
    }
    Instant now = clock.instant();
    // The state is taken out when the browser that started it came back, whatever comes next: it
    // works once, even for an answer refused below. Another browser's callback (a forged link, a
    // copied URL) leaves it for the browser that started it.
    CompletionStage<Taken> taken =
        db.inTransaction(
            h -> {
              String hash = WebSessions.hash(state);
              var row =
                  h.createQuery(
                          "SELECT browser_hash, nonce, code_verifier, next_path FROM oidc_logins"
                              + " WHERE state_hash = :s AND expires_at > :now")
                      .bind("s", hash)
                      .bind("now", Timestamps.bind(now))
                      .map(
                          (rs, ctx) ->
                              new Login(
                                  rs.getString("browser_hash"),
                                  rs.getString("nonce"),
                                  rs.getString("code_verifier"),
                                  rs.getString("next_path")))
                      .findOne();
              if (row.isEmpty()) {
                return new Taken(null, false);
              }
              if (!sameBrowser(row.get(), browserNonce)) {
                return new Taken(null, true);
              }
              int deleted =
                  h.createUpdate("DELETE FROM oidc_logins WHERE state_hash = :s")
                      .bind("s", hash)
                      .execute();
              return new Taken(deleted == 1 ? row.get() : null, false);
            });
    return taken.thenCompose(
        t -> {
          Login login = t.login();
          if (t.otherBrowser()) {
            return refused("this sign-in was started in another browser");
          }
          if (login == null) {
            return refused(
                "this sign-in is unknown, expired or already used: start again from the sign-in"
                    + " page");
          }
          if (error != null) {
            return refused("the provider refused the sign-in: " + printable(error));
          }
          if (code == null || code.isEmpty() || code.length() > 2048) {
            return refused("the provider's answer has no code");
          }
          return redeem(code, login).thenApply(identity -> new Result(identity, login.next()));
        });
  }

  private static boolean sameBrowser(Login login, String browserNonce) {
    return browserNonce != null
        && MessageDigest.isEqual(
            login.browserHash().getBytes(StandardCharsets.US_ASCII),
            WebSessions.hash(browserNonce).getBytes(StandardCharsets.US_ASCII));
  }

  private CompletionStage<Identity> redeem(String code, Login login) {
    return metadata()
        .thenCompose(
            meta -> {
              AuthorizationCodeGrant grant =
                  new AuthorizationCodeGrant(
                      new AuthorizationCode(code),
                      redirectUri(),
                      new CodeVerifier(login.verifier()));
              TokenRequest request =
                  new TokenRequest.Builder(
                          meta.getTokenEndpointURI(),
                          new ClientSecretBasic(
                              new ClientID(config.clientId()), new Secret(config.clientSecret())),
                          grant)
                      .build();
              HTTPRequest r = request.toHTTPRequest();
              Map<String, String> headers = new HashMap<>();
              r.getHeaderMap().forEach((k, v) -> headers.put(k, String.join(", ", v)));
              headers.put("Accept", "application/json");
              return http.send(
                      GuardedHttpClient.Request.post(
                          r.getURI(),
                          headers,
                          r.getBody().getBytes(StandardCharsets.UTF_8),
                          MAX_TOKEN_BYTES,
                          config.timeout()))
                  .handle(
                      (resp, failure) -> {
                        if (failure != null) {
                          throw unavailable("token endpoint", failure);
                        }
                        return resp;
                      })
                  .thenCompose(resp -> validate(meta, tokenResponse(resp), login, false));
            });
  }

  private JWT tokenResponse(GuardedHttpClient.Response resp) {
    HTTPResponse r = new HTTPResponse(resp.status());
    TokenResponse parsed;
    try {
      if (!resp.contentType().isEmpty()) {
        r.setContentType(resp.contentType());
      }
      r.setBody(new String(resp.body(), StandardCharsets.UTF_8));
      parsed = OIDCTokenResponseParser.parse(r);
    } catch (GeneralException e) {
      // The SDK's ParseException (a GeneralException; its simple name is java.text's here).
      throw unverified("the provider's token answer is not valid", e);
    }
    if (!parsed.indicatesSuccess()) {
      var err = parsed.toErrorResponse().getErrorObject();
      throw new ProtocolException(
          ErrorCode.UNAUTHORIZED,
          "the provider refused the code ("
              + printable(err == null ? "no error" : String.valueOf(err.getCode()))
              + "): start again from the sign-in page");
    }
    if (!(parsed.toSuccessResponse() instanceof OIDCTokenResponse oidc)
        || oidc.getOIDCTokens().getIDToken() == null) {
      throw new ProtocolException(ErrorCode.UNAUTHORIZED, "the provider sent no ID token");
    }
    return oidc.getOIDCTokens().getIDToken();
  }

  private CompletionStage<Identity> validate(
      OIDCProviderMetadata meta, JWT idToken, Login login, boolean refreshed) {
    JWKSet set = keys.get();
    boolean stale = clock.instant().isAfter(keysFetched.plus(MIN_KEY_REFRESH));
    if (set == null || (refreshed && stale)) {
      return fetchKeys(meta).thenCompose(s -> validate(meta, idToken, login, true));
    }
    // The token's algorithm, if the provider publishes it and it is a public-key signature (never
    // "none" nor an HMAC, whose key would be the client secret).
    List<JWSAlgorithm> supported =
        meta.getIDTokenJWSAlgs() == null || meta.getIDTokenJWSAlgs().isEmpty()
            ? List.of(JWSAlgorithm.RS256)
            : meta.getIDTokenJWSAlgs();
    JWSAlgorithm alg =
        idToken.getHeader().getAlgorithm() instanceof JWSAlgorithm a
                && supported.contains(a)
                && JWSAlgorithm.Family.SIGNATURE.contains(a)
            ? a
            : null;
    if (alg == null) {
      return CompletableFuture.failedFuture(
          unverified(
              "the ID token's signature was refused",
              new BadJOSEException(
                  "algorithm "
                      + idToken.getHeader().getAlgorithm()
                      + " is not one the provider signs with")));
    }
    IDTokenValidator validator =
        new IDTokenValidator(meta.getIssuer(), new ClientID(config.clientId()), alg, set);
    // Nimbus's IDTokenClaimsVerifier compares exp and iat with the system clock (a new Date(), no
    // way to pass another): with a skew that never refuses it checks only that they are present,
    // and times() checks them, and nbf, on the node's clock.
    validator.setMaxClockSkew(Integer.MAX_VALUE);
    IDTokenClaimsSet claims;
    try {
      claims = validator.validate(idToken, new Nonce(login.nonce()));
      // What nimbus's IDTokenValidator leaves out (its IDTokenClaimsVerifier checks iss, sub, aud,
      // the presence of exp and iat, and nonce, and of azp only that it is a string): the times,
      // and azp as OIDC Core 3.1.3.7 items 4 and 5 say.
      JWTClaimsSet jwt = idToken.getJWTClaimsSet();
      times(jwt);
      authorizedParty(jwt);
    } catch (ParseException | BadJWTException e) {
      return CompletableFuture.failedFuture(unverified("the ID token was refused", e));
    } catch (BadJOSEException e) {
      if (!refreshed && stale) {
        // Perhaps the provider rotated its keys: fetch them again, once.
        return fetchKeys(meta).thenCompose(s -> validate(meta, idToken, login, true));
      }
      return CompletableFuture.failedFuture(unverified("the ID token's signature was refused", e));
    } catch (JOSEException e) {
      return CompletableFuture.failedFuture(unverified("the ID token could not be checked", e));
    }
    // As a string: nimbus's Subject throws for a blank one.
    String sub = claims.getStringClaim("sub");
    String user = userPrefix() + sub;
    if (user.length() > MAX_SUB) {
      return refused("the provider's subject is too long");
    }
    // The subject becomes the user id, shown on pages, by the admin API and in logs: one line of
    // visible text (no control characters, line breaks or bidirectional overrides), as pairing's
    // client ids and device names.
    String subProblem = sub.isBlank() ? "it is blank" : ShownText.problem(sub);
    if (subProblem != null) {
      return refused("the provider's subject is not one line of visible text (" + subProblem + ")");
    }
    // An email the provider has not verified is anyone's to claim: taken only with
    // email_verified true (a JSON boolean, or the string "true" some providers send), else the
    // person has no email here (as a provider that sends none).
    Object email = claims.getClaim("email");
    Object emailVerified = claims.getClaim("email_verified");
    boolean verified = Boolean.TRUE.equals(emailVerified) || "true".equals(emailVerified);
    String display =
        verified && email instanceof String s && s.length() <= 320 && ShownText.problem(s) == null
            ? s
            : "";
    Instant exp = claims.getExpirationTime().toInstant();
    return CompletableFuture.completedFuture(new Identity(user, display, exp));
  }

  /**
   * The token's times on the node's clock, with {@code identity.clock-skew}: expiry and not before
   * by nimbus-jose-jwt's claims verifier, and an issue time not ahead (as nimbus's
   * IDTokenClaimsVerifier would on the system clock).
   */
  private void times(JWTClaimsSet jwt) throws BadJWTException {
    Instant now = clock.instant();
    int skew = (int) Math.min(Integer.MAX_VALUE, clockSkew.toSeconds());
    DefaultJWTClaimsVerifier<SecurityContext> verifier =
        new DefaultJWTClaimsVerifier<>(null, null) {
          @Override
          protected Date currentTime() {
            return Date.from(now);
          }
        };
    verifier.setMaxClockSkew(skew);
    verifier.verify(jwt, null);
    Date iat = jwt.getIssueTime();
    if (iat != null && iat.toInstant().isAfter(now.plusSeconds(skew))) {
      throw new BadJWTException("the token's issue time (iat) is ahead of this node's clock");
    }
  }

  /**
   * OIDC Core 3.1.3.7 items 4 and 5: with several audiences the token must name its authorized
   * party ({@code azp}), and an {@code azp} must be this client.
   */
  private void authorizedParty(JWTClaimsSet jwt) throws BadJWTException, ParseException {
    String azp = jwt.getStringClaim("azp");
    List<String> aud = jwt.getAudience();
    if (azp == null && aud != null && aud.size() > 1) {
      throw new BadJWTException("the token names several audiences and no authorized party (azp)");
    }
    if (azp != null && !azp.equals(config.clientId())) {
      throw new BadJWTException(
          "the token's authorized party (azp) is not this client: " + printable(azp));
    }
  }

  private CompletionStage<JWKSet> fetchKeys(OIDCProviderMetadata meta) {
    keysFetched = clock.instant();
    return http.send(
            GuardedHttpClient.Request.get(
                meta.getJWKSetURI(), MAX_METADATA_BYTES, config.timeout()))
        .handle(
            (resp, failure) -> {
              if (failure != null) {
                throw unavailable("key set", failure);
              }
              if (resp.status() != 200) {
                throw unavailable("key set", new IllegalStateException("HTTP " + resp.status()));
              }
              try {
                JWKSet set =
                    JWKSet.parse(new String(resp.body(), StandardCharsets.UTF_8)).toPublicJWKSet();
                keys.set(set);
                return set;
              } catch (ParseException e) {
                throw unavailable("key set", e);
              }
            });
  }

  /** The provider's metadata, by discovery; fetched once, again after a failure. */
  CompletionStage<OIDCProviderMetadata> metadata() {
    CompletableFuture<OIDCProviderMetadata> current = metadata.get();
    if (current != null && !current.isCompletedExceptionally()) {
      return current;
    }
    CompletableFuture<OIDCProviderMetadata> mine = new CompletableFuture<>();
    if (!metadata.compareAndSet(current, mine)) {
      return metadata();
    }
    String issuer = config.issuer();
    URI uri =
        URI.create(
            (issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer)
                + "/.well-known/openid-configuration");
    http.send(GuardedHttpClient.Request.get(uri, MAX_METADATA_BYTES, config.timeout()))
        .whenComplete(
            (resp, failure) -> {
              try {
                if (failure != null) {
                  throw unavailable("discovery", failure);
                }
                if (resp.status() != 200) {
                  throw unavailable(
                      "discovery", new IllegalStateException("HTTP " + resp.status()));
                }
                OIDCProviderMetadata meta =
                    OIDCProviderMetadata.parse(new String(resp.body(), StandardCharsets.UTF_8));
                if (!meta.getIssuer().equals(new Issuer(issuer))) {
                  throw unavailable(
                      "discovery",
                      new IllegalStateException(
                          "the provider names itself " + meta.getIssuer() + ", not " + issuer));
                }
                mine.complete(meta);
              } catch (ProtocolException e) {
                mine.completeExceptionally(e);
              } catch (GeneralException | RuntimeException e) {
                // The SDK's ParseException (a GeneralException; its simple name is java.text's).
                mine.completeExceptionally(unavailable("discovery", e));
              }
            });
    return mine;
  }

  private static ProtocolException unavailable(String what, Throwable cause) {
    Throwable t =
        cause instanceof CompletionException && cause.getCause() != null ? cause.getCause() : cause;
    if (t instanceof ProtocolException pe) {
      return pe;
    }
    LOG.warn("OpenID Connect provider {} failed: {}", what, t.toString());
    return new ProtocolException(
        ErrorCode.BACKEND_UNAVAILABLE,
        "the sign-in provider cannot be reached (" + what + "); try again later");
  }

  /**
   * The refusal of a provider's answer that failed a check of the token answer or the ID token: the
   * visitor gets the fixed {@link #UNVERIFIED}, and the log (at most a line every {@link
   * #LOG_REFUSALS_EVERY}, with how many were left out) what failed, {@code what} and the
   * exception's class and message, which the exception keeps as its cause. nimbus's messages name
   * its classes and quote the token's claims ("Unexpected JWT issuer: …", "Signed JWT rejected:
   * …"): for an operator, not for the visitor.
   */
  private ProtocolException unverified(String what, Exception cause) {
    refusals.warn(
        "OpenID Connect sign-in refused: "
            + loggable(what + ": " + cause.getClass().getSimpleName() + ": " + cause.getMessage()));
    return new ProtocolException(ErrorCode.UNAUTHORIZED, UNVERIFIED, cause);
  }

  /** {@code s} as one line of the log: printable ASCII (anything else '?'), at most 500 chars. */
  private static String loggable(String s) {
    String t = s.length() > 500 ? s.substring(0, 500) + "..." : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }

  private static <T> CompletionStage<T> refused(String reason) {
    return CompletableFuture.failedFuture(new ProtocolException(ErrorCode.UNAUTHORIZED, reason));
  }

  private static String first(Map<String, List<String>> query, String name) {
    List<String> v = query.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static String printable(String s) {
    String t = s.length() > 100 ? s.substring(0, 100) : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
