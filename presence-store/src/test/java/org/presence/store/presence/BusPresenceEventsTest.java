package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.protocol.event.PresenceEvent;
import org.presence.protocol.event.PresenceEventCodec;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.NewApplication;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.Persistence;
import org.presence.store.permission.Grant;
import org.presence.store.updates.AppUpdatePublisher;

class BusPresenceEventsTest {
  @TempDir Path dataDir;
  Persistence persistence;
  LocalPresenceBus bus;
  BusPresenceEvents events;
  final List<PresenceEvent> received = new CopyOnWriteArrayList<>();

  @BeforeEach
  void open() {
    persistence = EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
    bus = new LocalPresenceBus();
    events = new BusPresenceEvents(bus, persistence.grants()::listByUser);
  }

  @AfterEach
  void close() {
    bus.close();
    persistence.close();
  }

  private static <T> T join(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private long app(String name) {
    long id =
        join(persistence
                .apps()
                .create(new NewApplication(name, name + ".example", "d", "dev", "dev@x", "k")))
            .id();
    join(
        bus.subscribe(
            AppUpdatePublisher.channel(id), (c, m) -> received.add(PresenceEventCodec.decode(m))));
    return id;
  }

  private Grant grant(String user, long app, String as) {
    return join(persistence.grants().grant(user, app, as));
  }

  private static PresenceUpdate update(ApplicationIds own, PresenceChange... changes) {
    return new PresenceUpdate(true, List.of(changes), own);
  }

  @Test
  void publish_whenSharedAudience_thenEveryEnabledGrantByPuidOnly() {
    long a = app("a");
    long b = app("b");
    long paused = app("p");
    Grant ga = grant("alice", a, "Fred");
    Grant ga2 = grant("alice", a, "Fred at work");
    Grant gb = grant("alice", b, "fred");
    Grant gp = grant("alice", paused, "f");
    join(persistence.grants().setEnabled("alice", gp.puid(), false));
    grant("bob", a, "Bob");

    join(
        events.publish(
            "alice",
            update(ApplicationIds.NONE, new PresenceChange(0, PresenceStatus.ONLINE, "hi", 11)),
            99));

    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 3);
    await().during(Duration.ofMillis(200)).until(() -> received.size() == 3);
    assertThat(received)
        .containsExactlyInAnyOrder(
            new PresenceEvent(a, ga.puid(), PresenceStatus.ONLINE, "hi", 11, 99),
            new PresenceEvent(a, ga2.puid(), PresenceStatus.ONLINE, "hi", 11, 99),
            new PresenceEvent(b, gb.puid(), PresenceStatus.ONLINE, "hi", 11, 99));
  }

  @Test
  void publish_whenOwnScopes_thenSharedChangeSkipsThemAndAppChangeReachesOnlyIt() {
    long a = app("a");
    long b = app("b");
    Grant ga = grant("alice", a, "x");
    Grant gb = grant("alice", b, "x");
    join(
        events.publish(
            "alice",
            update(
                ApplicationIds.of(a),
                new PresenceChange(0, PresenceStatus.AWAY, null, 5),
                new PresenceChange(a, PresenceStatus.ONLINE, null, 5)),
            1));
    await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 2);
    assertThat(received)
        .containsExactlyInAnyOrder(
            new PresenceEvent(b, gb.puid(), PresenceStatus.AWAY, null, 5, 1),
            new PresenceEvent(a, ga.puid(), PresenceStatus.ONLINE, null, 5, 1));
  }

  @Test
  void publish_whenAppNotGranted_thenNothing() {
    long a = app("a");
    join(
        events.publish(
            "alice",
            update(ApplicationIds.of(a), new PresenceChange(a, PresenceStatus.ONLINE, null, 1)),
            1));
    join(
        events.publish(
            "nobody",
            update(ApplicationIds.NONE, new PresenceChange(0, PresenceStatus.ONLINE, null, 1)),
            1));
    await().during(Duration.ofMillis(300)).until(received::isEmpty);
  }

  @Test
  void publish_manyChangesOfOneUser_thenInCallOrder() {
    long a = app("a");
    grant("alice", a, "x");
    PresenceStatus[] cycle = {PresenceStatus.ONLINE, PresenceStatus.AWAY};
    for (int i = 1; i <= 50; i++) {
      events.publish(
          "alice", update(ApplicationIds.NONE, new PresenceChange(0, cycle[i % 2], null, i)), i);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 50);
    assertThat(received)
        .extracting(PresenceEvent::version)
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 50).boxed().toList());
    await().atMost(Duration.ofSeconds(5)).until(() -> events.inFlight() == 0);
  }
}
