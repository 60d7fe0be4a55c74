package org.presence.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
          Duration.ofDays(90), Duration.ofDays(90), Duration.ofDays(30), Duration.ofHours(1), 2);

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

    // A day on: nothing is past its retention.
    now.set(start.plus(Duration.ofDays(1)));
    assertThat(join(sweep.sweep())).isEqualTo(new RetentionSweep.Deleted(0, 0, 0));

    // 31 days on: the queue nothing was pushed to for 30 days goes, and only it. A queue pushed
    // to yesterday stays.
    join(store.notifications().enqueue("stays", note(app.id(), start.plus(Duration.ofDays(30)))));
    now.set(start.plus(Duration.ofDays(31)));
    assertThat(join(sweep.sweep())).isEqualTo(new RetentionSweep.Deleted(0, 0, 1));
    assertThat(join(store.notifications().pending("gone"))).isEmpty();
    assertThat(join(store.notifications().pending("stays"))).hasSize(1);

    // A mapping a push server reported for on day 80 (touched) outlives the retention of its tie.
    join(mappings.tie("xpi-used", "stays", "phone", null));
    join(mappings.touch("xpi-used", start.plus(Duration.ofDays(80))));

    // 91 days on: the three tombstones (in two batches of two) and the unused mapping go; the
    // queue of "stays", pushed to again on day 90, stays.
    join(store.notifications().enqueue("stays", note(app.id(), start.plus(Duration.ofDays(90)))));
    now.set(start.plus(Duration.ofDays(91)));
    assertThat(join(sweep.sweep())).isEqualTo(new RetentionSweep.Deleted(3, 1, 0));
    assertThat(join(mappings.find("xpi-gone"))).isEmpty();
    assertThat(join(mappings.find("xpi-used"))).isPresent();
    assertThat(join(grants.puidState(app.id(), live.puid()))).isEqualTo(PuidState.ACTIVE);
    assertThat(join(store.notifications().pending("stays"))).hasSize(2);
    assertThat(metrics.registry().counter("presence.retention.revoked_puids_deleted").getCount())
        .isEqualTo(3);
    assertThat(join(sweep.sweep())).isEqualTo(new RetentionSweep.Deleted(0, 0, 0));
  }

  @Test
  void sweep_runsOnOneNodeAtATime_theLeaseHolders() {
    Application app = app();
    Grant g = join(store.persistence().grants().grant("gone", app.id(), "a"));
    join(store.persistence().grants().revoke("gone", g.puid()));
    now.set(start.plus(Duration.ofDays(91)));
    RetentionSweep a = sweep("node-a");
    RetentionSweep b = sweep("node-b");
    assertThat(join(a.sweep())).isEqualTo(new RetentionSweep.Deleted(1, 0, 0));
    // node-a holds the lease for two intervals: node-b does not sweep meanwhile.
    assertThat(join(b.sweep())).isNull();
    assertThat(join(a.sweep())).isEqualTo(new RetentionSweep.Deleted(0, 0, 0));
  }
}
