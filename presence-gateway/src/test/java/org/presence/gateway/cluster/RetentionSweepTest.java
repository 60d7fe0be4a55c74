package org.presence.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.cluster.RetentionSweep.Kind;
import org.presence.gateway.config.RetentionConfig;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.store.Store;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.config.StoreConfig;
import org.presence.store.permission.Grant;
import org.presence.store.permission.PuidState;
import org.presence.store.push.JdbiClientMappingRepository;
import org.presence.store.queue.Notification;
import org.presence.store.testing.Sql;

/**
 * The retention sweep over the embedded store (H2 file and notification journal), with a clock the
 * test moves on by days.
 */
class RetentionSweepTest {
  @TempDir Path dir;

  private final Instant start = Instant.now();
  private final AtomicReference<Instant> now = new AtomicReference<>(start);
  private final Clock clock =
      new Clock() {
        @Override
        public ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now.get();
        }
      };

  private Store store;
  private GatewayMetrics metrics;
  private JdbiClientMappingRepository mappings;

  private static final RetentionConfig CONFIG =
      new RetentionConfig(
          Duration.ofDays(90),
          Duration.ofDays(90),
          Duration.ofDays(30),
          Duration.ofDays(90),
          Duration.ofHours(1),
          2);

  @BeforeEach
  void open() {
    store = Store.open(StoreConfig.embedded(dir.resolve("store")));
    metrics = new GatewayMetrics(new com.codahale.metrics.MetricRegistry());
    mappings = new JdbiClientMappingRepository(store.persistence().db());
  }

  @AfterEach
  void close() {
    store.close();
  }

  private RetentionSweep sweep(String node) {
    return new RetentionSweep(CONFIG, node, store, metrics, clock);
  }

  /** What one sweep deleted, the kinds of which it deleted nothing left out. */
  private static Map<Kind, Integer> deleted(RetentionSweep sweep) {
    RetentionSweep.Deleted d = join(sweep.sweep());
    assertThat(d.counts()).containsOnlyKeys(Kind.values());
    return d.nonZero();
  }

  private void sql(String statement, Object... args) {
    Sql.update(store.persistence().db(), statement, args);
  }

  private long count(String table, String where) {
    return Sql.count(store.persistence().db(), table, where);
  }

  private void session(String id, Instant expires) {
    sql(
        "INSERT INTO web_sessions (id_hash, user_sub, email, user_agent, created_at, last_seen_at,"
            + " expires_at) VALUES (?, 'u', 'u@example.com', 'ua', ?, ?, ?)",
        id,
        start,
        start,
        expires);
  }

  private void pairingRequest(String hash, Instant expires) {
    sql(
        "INSERT INTO device_authorizations (code_hash, user_code, client_id, expires_at,"
            + " interval_seconds, state, requested_at, requested_from) VALUES (?, ?, 'c', ?, 5,"
            + " 'pending', ?, '192.0.2.1')",
        hash,
        hash.toUpperCase(java.util.Locale.ROOT),
        expires,
        start);
  }

  private void device(String id, Instant revoked) {
    sql(
        "INSERT INTO paired_devices (id, user_sub, user_email, name, refresh_hash, paired_at,"
            + " last_seen_at, revoked_at) VALUES (?, 'u', 'u@example.com', ?, ?, ?, ?, ?)",
        id,
        id,
        "r-" + id,
        start,
        start,
        revoked);
  }

  private void rotated(String hash, String device, Instant at) {
    sql(
        "INSERT INTO paired_device_rotated_tokens (refresh_hash, device_id, rotated_at) VALUES"
            + " (?, ?, ?)",
        hash,
        device,
        at);
  }

  private Application app() {
    return join(
        store
            .persistence()
            .apps()
            .create(
                new NewApplication(
                    "Ret", "ret.example.com", "about", "dev", "dev@example.com", "k".repeat(64))));
  }

  private static Notification note(long appId, Instant at) {
    return new Notification(
        java.util.UUID.randomUUID().toString().replace("-", ""),
        appId,
        "puid",
        "Ret",
        "hello",
        "https://ret.example.com/",
        at,
        at.plusSeconds(60),
        false);
  }

  @Test
  void sweep_deletesEachKindOnlyPastItsRetention_andNeverLiveData() {
    Application app = app();
    var grants = store.persistence().grants();
    for (String s : new String[] {"a", "b", "c"}) {
      Grant g = join(grants.grant("gone", app.id(), s));
      join(grants.revoke("gone", g.puid()));
    }
    Grant live = join(grants.grant("stays", app.id(), "x"));
    join(mappings.tie("xpi-gone", "gone", "phone", null));
    join(store.notifications().enqueue("gone", note(app.id(), start)));
    RetentionSweep sweep = sweep("node-a");

    // A day on: nothing is past its retention; only the grant lock row of "gone", who holds no
    // grant any more, goes.
    now.set(start.plus(Duration.ofDays(1)));
    assertThat(deleted(sweep)).isEqualTo(Map.of(Kind.GRANT_OWNERS, 1));

    // 31 days on: the queue nothing was pushed to for 30 days goes, and only it. A queue pushed
    // to yesterday stays.
    join(store.notifications().enqueue("stays", note(app.id(), start.plus(Duration.ofDays(30)))));
    now.set(start.plus(Duration.ofDays(31)));
    assertThat(deleted(sweep)).isEqualTo(Map.of(Kind.NOTIFICATION_QUEUES, 1));
    assertThat(join(store.notifications().pending("gone"))).isEmpty();
    assertThat(join(store.notifications().pending("stays"))).hasSize(1);

    // A mapping a push server reported for on day 80 (touched) outlives the retention of its tie.
    join(mappings.tie("xpi-used", "stays", "phone", null));
    join(mappings.touch("xpi-used", start.plus(Duration.ofDays(80))));

    // 91 days on: the three tombstones (in two batches of two) and the unused mapping go; the
    // queue of "stays", pushed to again on day 90, stays.
    join(store.notifications().enqueue("stays", note(app.id(), start.plus(Duration.ofDays(90)))));
    now.set(start.plus(Duration.ofDays(91)));
    assertThat(deleted(sweep)).isEqualTo(Map.of(Kind.REVOKED_PUIDS, 3, Kind.CLIENT_MAPPINGS, 1));
    assertThat(join(mappings.find("xpi-gone"))).isEmpty();
    assertThat(join(mappings.find("xpi-used"))).isPresent();
    assertThat(join(grants.puidState(app.id(), live.puid()))).isEqualTo(PuidState.ACTIVE);
    assertThat(join(store.notifications().pending("stays"))).hasSize(2);
    assertThat(metrics.registry().counter("presence.retention.revoked_puids_deleted").getCount())
        .isEqualTo(3);
    assertThat(deleted(sweep)).isEmpty();
  }

  @Test
  void sweep_deletesExpiredSignInsAndPairingsAtOnce_andRevokedDevicesPastTheirRetention() {
    Application app = app();
    Grant live = join(store.persistence().grants().grant("stays", app.id(), "x"));
    session("s-soon", start.plus(Duration.ofDays(1)));
    session("s-later", start.plus(Duration.ofDays(30)));
    sql(
        "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next_path,"
            + " expires_at) VALUES ('st', 'b', 'n', 'v', '/', ?)",
        start.plus(Duration.ofMinutes(10)));
    pairingRequest("bcdfghjk", start.plus(Duration.ofMinutes(10)));
    pairingRequest("lmnpqrst", start.plus(Duration.ofDays(5)));
    device("revoked-early", start);
    rotated("t-early", "revoked-early", start.plus(Duration.ofDays(29)));
    device("revoked-late", start.plus(Duration.ofDays(60)));
    device("live", null);
    rotated("t-old", "live", start);
    rotated("t-new", "live", start.plus(Duration.ofDays(20)));
    RetentionSweep sweep = sweep("node-a");

    // Two days on: the expired session, sign-in and pairing request go; nothing unexpired does.
    now.set(start.plus(Duration.ofDays(2)));
    assertThat(deleted(sweep))
        .isEqualTo(
            Map.of(Kind.WEB_SESSIONS, 1, Kind.OIDC_LOGINS, 1, Kind.DEVICE_AUTHORIZATIONS, 1));
    assertThat(count("web_sessions", "id_hash = 's-later'")).isOne();
    assertThat(count("device_authorizations", "requested_from IS NOT NULL")).isOne();

    // 31 days on: the other session and request expired; a refresh token rotated out 31 days ago
    // is past the 30 days it is remembered, the one of day 20 is not.
    now.set(start.plus(Duration.ofDays(31)));
    assertThat(deleted(sweep))
        .isEqualTo(
            Map.of(Kind.WEB_SESSIONS, 1, Kind.DEVICE_AUTHORIZATIONS, 1, Kind.ROTATED_TOKENS, 1));
    assertThat(count("paired_device_rotated_tokens", "refresh_hash = 't-new'")).isOne();
    assertThat(count("device_authorizations", "1 = 1")).isZero();

    // 91 days on: the device revoked on day 0 goes, with its remembered token; the one revoked on
    // day 60 is still listed as revoked; a live device is never touched, however old.
    now.set(start.plus(Duration.ofDays(91)));
    assertThat(deleted(sweep)).isEqualTo(Map.of(Kind.PAIRED_DEVICES, 1, Kind.ROTATED_TOKENS, 1));
    assertThat(count("paired_devices", "id = 'revoked-early'")).isZero();
    assertThat(count("paired_device_rotated_tokens", "device_id = 'revoked-early'")).isZero();
    assertThat(count("paired_devices", "id IN ('revoked-late', 'live')")).isEqualTo(2);
    assertThat(count("grant_owners", "user_sub = 'stays'")).isOne();
    assertThat(join(store.persistence().grants().findByPuid(live.puid()))).isPresent();
    assertThat(metrics.registry().counter(Kind.DEVICE_AUTHORIZATIONS.counter()).getCount())
        .isEqualTo(2);
  }

  @Test
  void sweep_runsOnOneNodeAtATime_theLeaseHolders() {
    Application app = app();
    Grant g = join(store.persistence().grants().grant("gone", app.id(), "a"));
    join(store.persistence().grants().revoke("gone", g.puid()));
    now.set(start.plus(Duration.ofDays(91)));
    RetentionSweep a = sweep("node-a");
    RetentionSweep b = sweep("node-b");
    assertThat(deleted(a)).isEqualTo(Map.of(Kind.REVOKED_PUIDS, 1, Kind.GRANT_OWNERS, 1));
    // node-a holds the lease for two intervals: node-b does not sweep meanwhile.
    assertThat(join(b.sweep())).isNull();
    assertThat(deleted(a)).isEmpty();
  }

  @Test
  void grantOwners_eachSweepGoesOnWhereTheLastStopped() {
    Application app = app();
    // 200 users holding a grant, then 100 without: a sweep looks at 100 batches of 2 users.
    for (int i = 0; i < 200; i++) {
      String user = String.format(java.util.Locale.ROOT, "a-%03d", i);
      sql("INSERT INTO grant_owners (user_sub) VALUES (?)", user);
      sql(
          "INSERT INTO grants (puid, user_sub, app_id, user_string, enabled, created_at,"
              + " updated_at) VALUES (?, ?, ?, 'x', TRUE, ?, ?)",
          "p-" + i,
          user,
          app.id(),
          start,
          start);
    }
    for (int i = 0; i < 100; i++) {
      sql(
          "INSERT INTO grant_owners (user_sub) VALUES (?)",
          String.format(java.util.Locale.ROOT, "b-%03d", i));
    }
    RetentionSweep sweep = sweep("node-a");
    // The first sweep looks at the 200 users with grants and stops there.
    assertThat(deleted(sweep)).isEmpty();
    // The next goes on from there (the lease held, an interval later) and reaches the end.
    now.set(start.plus(CONFIG.sweepInterval()));
    assertThat(deleted(sweep)).isEqualTo(Map.of(Kind.GRANT_OWNERS, 100));
    assertThat(count("grant_owners", "user_sub LIKE 'b-%'")).isZero();
    assertThat(count("grant_owners", "user_sub LIKE 'a-%'")).isEqualTo(200);
  }
}
