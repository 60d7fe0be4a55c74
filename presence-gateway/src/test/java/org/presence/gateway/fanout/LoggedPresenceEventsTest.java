package org.presence.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.BusRecorder;
import org.presence.protocol.event.PresenceEvent;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.NewApplication;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.Persistence;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateBatchCodec;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;

class LoggedPresenceEventsTest {
  @TempDir Path dataDir;
  Persistence persistence;
  LocalPresenceBus bus;
  AppUpdateLog log;
  LoggedPresenceEvents events;
  final List<PresenceEvent> received = new CopyOnWriteArrayList<>();
  final List<AppUpdate> heard = new CopyOnWriteArrayList<>();

  @BeforeEach
  void open() {
    persistence = EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
    bus = new LocalPresenceBus();
    log = new LocalAppUpdateLog();
    AppUpdatePublisher publisher = new AppUpdatePublisher(log, bus);
    publisher.addListener((app, updates) -> heard.addAll(updates));
    events = new LoggedPresenceEvents(publisher, persistence.grants()::listByUser);
  }

  @AfterEach
  void close() {
    bus.close();
    persistence.close();
  }

  private long app(String name) {
    long id =
        join(persistence
                .apps()
                .create(new NewApplication(name, name + ".example", "d", "dev", "dev@x", "k")))
            .id();
    join(
        bus.subscribe(
            AppUpdateBatchCodec.channel(id), (c, m) -> received.addAll(BusRecorder.decode(id, m))));
    return id;
  }

  private static PresenceUpdate update(ApplicationIds own, PresenceChange... changes) {
    return new PresenceUpdate(true, List.of(changes), own);
  }

  @Test
  void publish_numbersEachUpdateInItsAppsLog_thenPublishesItWithItsSeq() {
    long a = app("a");
    long b = app("b");
    long paused = app("p");
    Grant ga = join(persistence.grants().grant("alice", a, "Fred"));
    Grant gb = join(persistence.grants().grant("alice", b, "fred"));
    Grant gp = join(persistence.grants().grant("alice", paused, "f"));
    join(persistence.grants().setEnabled("alice", gp.puid(), false));
    long startA = join(log.lastSeq(a));

    join(
        events.publish(
            "alice",
            update(ApplicationIds.NONE, new PresenceChange(0, PresenceStatus.ONLINE, "hi", 11)),
            99));

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 2);
    await().during(Duration.ofMillis(200)).until(() -> received.size() == 2);
    PresenceEvent ea = received.stream().filter(e -> e.appId() == a).findFirst().orElseThrow();
    assertThat(ea.puid()).isEqualTo(ga.puid());
    assertThat(ea.seq()).isEqualTo(startA + 1);
    assertThat(ea.message()).isEqualTo("hi");
    assertThat(ea.version()).isEqualTo(11);
    assertThat(received)
        .extracting(PresenceEvent::puid)
        .containsExactlyInAnyOrder(ga.puid(), gb.puid());
    AppUpdateLog.Read r = join(log.readSince(a, startA, 10));
    assertThat(r.updates())
        .extracting(AppUpdate::puid, AppUpdate::status, AppUpdate::message, AppUpdate::version)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(ga.puid(), PresenceStatus.ONLINE, "hi", 11L));
    assertThat(heard).extracting(AppUpdate::puid).containsExactlyInAnyOrder(ga.puid(), gb.puid());
  }

  @Test
  void publish_manyChangesOfOneUser_thenNumberedInCallOrder() {
    long a = app("a");
    join(persistence.grants().grant("alice", a, "x"));
    PresenceStatus[] cycle = {PresenceStatus.ONLINE, PresenceStatus.AWAY};
    for (int i = 1; i <= 50; i++) {
      events.publish(
          "alice", update(ApplicationIds.NONE, new PresenceChange(0, cycle[i % 2], null, i)), i);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 50);
    assertThat(received)
        .extracting(PresenceEvent::version)
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 50).boxed().toList());
    List<Long> seqs = received.stream().map(PresenceEvent::seq).toList();
    assertThat(seqs).isSorted().doesNotHaveDuplicates();
    await().atMost(Duration.ofSeconds(5)).until(() -> events.inFlight() == 0);
  }

  @Test
  void publish_staleChangeFromAnotherNode_isDroppedByTheLog() {
    long a = app("a");
    join(persistence.grants().grant("alice", a, "x"));
    join(
        events.publish(
            "alice",
            update(ApplicationIds.NONE, new PresenceChange(0, PresenceStatus.AWAY, null, 20)),
            1));
    join(
        events.publish(
            "alice",
            update(ApplicationIds.NONE, new PresenceChange(0, PresenceStatus.ONLINE, null, 19)),
            1));
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 1);
    await().during(Duration.ofMillis(200)).until(() -> received.size() == 1);
    assertThat(received.get(0).status()).isEqualTo(PresenceStatus.AWAY);
  }

  @Test
  void publish_twoChangesOneAudience_costTheAppOneUpdatePerPuid() {
    long a = app("a");
    Grant fred = join(persistence.grants().grant("alice", a, "Fred"));
    Grant freddy = join(persistence.grants().grant("alice", a, "Freddy"));
    long start = join(log.lastSeq(a));
    // Both changes reach app a (the second names it, the first is for every app it does not).
    join(
        events.publish(
            "alice",
            update(
                ApplicationIds.NONE,
                new PresenceChange(0, PresenceStatus.AWAY, null, 21),
                new PresenceChange(a, PresenceStatus.ONLINE, "here", 22)),
            1));
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 2);
    await().during(Duration.ofMillis(200)).until(() -> received.size() == 2);
    assertThat(received)
        .extracting(PresenceEvent::puid)
        .containsExactlyInAnyOrder(fred.puid(), freddy.puid());
    assertThat(join(log.readSince(a, start, 10)).updates())
        .extracting(AppUpdate::status, AppUpdate::version)
        .containsOnly(org.assertj.core.groups.Tuple.tuple(PresenceStatus.ONLINE, 22L));
  }

  private static Grant grant(String puid, long app, boolean enabled) {
    return new Grant(puid, "alice", app, "x", enabled, Instant.EPOCH, Instant.EPOCH);
  }

  @Test
  void updatesFor_oneUpdatePerAppAndPuid_firstSeenOrder_laterChangeWins() {
    List<Grant> grants =
        List.of(
            grant("p1", 1, true),
            grant("p2", 2, true),
            grant("p3", 1, true),
            grant("off", 1, false),
            grant("own", 3, true));
    PresenceUpdate update =
        update(
            ApplicationIds.of(3),
            new PresenceChange(0, PresenceStatus.AWAY, null, 5),
            new PresenceChange(1, PresenceStatus.ONLINE, "here", 6));
    Map<Long, List<AppUpdate.New>> out = events.updatesFor(grants, update);
    assertThat(out.keySet()).containsExactly(1L, 2L);
    assertThat(out.get(1L))
        .containsExactly(
            new AppUpdate.New("p1", PresenceStatus.ONLINE, "here", 6, AppUpdate.Kind.CHANGE),
            new AppUpdate.New("p3", PresenceStatus.ONLINE, "here", 6, AppUpdate.Kind.CHANGE));
    assertThat(out.get(2L))
        .containsExactly(
            new AppUpdate.New("p2", PresenceStatus.AWAY, "", 5, AppUpdate.Kind.CHANGE));
  }

  @Test
  void updatesFor_oneGrantSeesTwoChanges_isOneUpdate_andNoneSeenIsEmpty() {
    List<Grant> grants = List.of(grant("p1", 1, true), grant("p2", 2, false));
    PresenceUpdate update =
        update(
            ApplicationIds.NONE,
            new PresenceChange(0, PresenceStatus.AWAY, null, 5),
            new PresenceChange(1, PresenceStatus.ONLINE, null, 6));
    assertThat(events.updatesFor(grants, update))
        .containsExactly(
            Map.entry(
                1L,
                List.of(
                    new AppUpdate.New("p1", PresenceStatus.ONLINE, "", 6, AppUpdate.Kind.CHANGE))));
    assertThat(
            events.updatesFor(
                grants,
                update(ApplicationIds.NONE, new PresenceChange(2, PresenceStatus.AWAY, null, 7))))
        .isEmpty();
  }
}
