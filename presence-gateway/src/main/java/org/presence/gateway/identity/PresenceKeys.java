package org.presence.gateway.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.presence.protocol.id.SecureRandoms;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * Presence's own signing keys, for the identity tokens it gives paired devices (issuer {@value
 * #ISSUER}). The keys live in the database (table {@code signing_keys}), so every node of a cluster
 * signs and verifies with the same set; the embedded default keeps them in its H2 file in the data
 * directory, through the same code.
 *
 * <p>A node that finds the newest key older than {@code rotation} adds a new one (two nodes doing
 * so at once only add two keys). A new key is published at once but signs only once it is older
 * than {@code reload}: by then every node has reloaded the set and knows it, so no node refuses a
 * token for naming a key it has not seen. The newest key past that age signs (the only key, when
 * there is just one). The published set ({@code /.well-known/jwks.json}) holds every key younger
 * than twice the rotation interval, so a token signed before a rotation still verifies until it
 * expires (token lifetimes are far shorter than the rotation). The set is reloaded from the
 * database every {@code reload}, and when a token names a key this node does not know yet
 * (rate-limited).
 */
public final class PresenceKeys extends JwksSource.Refreshing {
  /** The {@code iss} of the identity tokens Presence signs for paired devices. */
  public static final String ISSUER = "presence";

  /** The claim naming the paired device a token was issued to. */
  public static final String DEVICE_CLAIM = "presence_device";

  private final Db db;
  private final Clock clock;
  private final Duration rotation;
  private final Duration reload;
  private volatile ECKey signing;

  private PresenceKeys(Db db, Clock clock, Duration rotation, Duration reload) {
    super(reload, Duration.ofSeconds(1), clock, "database", "database signing_keys");
    this.db = db;
    this.clock = clock;
    this.rotation = rotation;
    this.reload = reload;
  }

  /**
   * Loads the keys (making the first one, or a new one when the newest is older than {@code
   * rotation}); blocks, for the node's start only.
   */
  public static PresenceKeys load(Db db, Clock clock, Duration rotation, Duration reload) {
    PresenceKeys keys = new PresenceKeys(db, clock, rotation, reload);
    try {
      keys.refresh().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot load the signing keys: " + e, e);
    }
    if (keys.signing == null) {
      throw new IllegalStateException("cannot load the signing keys (see the log)");
    }
    return keys;
  }

  @Override
  CompletionStage<JWKSet> load() {
    return db.call(
        h -> {
          List<Row> rows = rows(h);
          Instant now = clock.instant();
          if (rows.isEmpty() || rows.get(0).createdAt().plus(rotation).isBefore(now)) {
            insert(h, now);
            rows = rows(h);
          }
          List<JWK> published = new ArrayList<>();
          Instant oldest = now.minus(rotation.multipliedBy(2));
          for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            if (i == 0 || r.createdAt().isAfter(oldest)) {
              published.add(r.key().toPublicJWK());
            }
          }
          // The newest key every node has had time to load signs; else the oldest one there is.
          ECKey signer = rows.get(rows.size() - 1).key();
          for (Row r : rows) {
            if (!r.createdAt().plus(reload).isAfter(now)) {
              signer = r.key();
              break;
            }
          }
          signing = signer;
          return new JWKSet(published);
        });
  }

  private record Row(ECKey key, Instant createdAt) {}

  private static List<Row> rows(Handle h) {
    return h.createQuery("SELECT jwk, created_at FROM signing_keys ORDER BY created_at DESC, kid")
        .map(
            (rs, ctx) -> {
              try {
                return new Row(ECKey.parse(rs.getString("jwk")), Timestamps.read(rs, "created_at"));
              } catch (ParseException e) {
                throw new IllegalStateException("unreadable signing key: " + e.getMessage(), e);
              }
            })
        .list();
  }

  private static void insert(Handle h, Instant now) throws JOSEException {
    ECKey key =
        new ECKeyGenerator(Curve.P_256)
            .keyID("p-" + SecureRandoms.uuid())
            .keyUse(KeyUse.SIGNATURE)
            .algorithm(JWSAlgorithm.ES256)
            .generate();
    h.createUpdate("INSERT INTO signing_keys (kid, jwk, created_at) VALUES (:kid, :jwk, :at)")
        .bind("kid", key.getKeyID())
        .bind("jwk", key.toJSONString())
        .bind("at", Timestamps.bind(now.truncatedTo(java.time.temporal.ChronoUnit.MICROS)))
        .execute();
  }

  /**
   * Rotates now: adds a new key (operations, tests) and reloads the set; the new key is published
   * at once and signs once it is older than the reload interval.
   */
  public CompletionStage<JWKSet> rotate() {
    return db.call(
            h -> {
              insert(h, clock.instant());
              return null;
            })
        .thenCompose(v -> load())
        .thenApply(
            set -> {
              replace(set);
              return set;
            });
  }

  /** The id of the key that signs now. */
  public String signingKeyId() {
    return signing.getKeyID();
  }

  /** The public keys to publish at {@code /.well-known/jwks.json}. */
  public JWKSet publicKeys() {
    return current();
  }

  /**
   * A signed identity token for {@code subject} (with {@code email} for display) issued to the
   * paired device {@code device}, for {@code audience}, valid for {@code lifetime}.
   */
  public String mint(
      String subject, String email, String device, String audience, Duration lifetime) {
    Instant now = clock.instant();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(ISSUER)
            .audience(audience)
            .subject(subject)
            .claim("email", email)
            .claim(DEVICE_CLAIM, device)
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now))
            .expirationTime(Date.from(now.plus(lifetime)))
            .jwtID(SecureRandoms.uuid().toString())
            .build();
    ECKey key = signing;
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
      throw new IllegalStateException("cannot sign an identity token", e);
    }
    return jwt.serialize();
  }
}
