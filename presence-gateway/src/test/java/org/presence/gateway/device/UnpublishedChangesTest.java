package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.LoggedPresenceEvents;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.NewApplication;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.Persistence;
import org.presence.store.error.StoreException;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.StatusBatches;
import org.presence.store.presence.UserMessages;
import org.presence.store.updates.LocalAppUpdateLog;

/**
 * Changes stored while the grants could not be read (the database away, the grants not cached):
 * each application hears of the user's presence once the grants can be read again, as it is then,
 * never twice the same; past the bound a change is counted and left.
 */
class UnpublishedChangesTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  @TempDir static Path dataDir;

  /** One database for the class: opening one takes seconds. */
  private static Persistence persistence;

  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final AtomicBoolean databaseDown = new AtomicBoolean();

  /** What the applications' logs took: "app:puid:status". */
  private final List<String> logged = new CopyOnWriteArrayList<>();

  private LoggedPresenceEvents events;

  /** A user of this test only. */
  private final String alice = "alice-" + UUID.randomUUID();

  @BeforeAll
  static void openDatabase() {
    persistence = EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
  }

  @AfterAll
  static void closeDatabase() {
    persistence.close();
  }

  @BeforeEach
  void open() {
    AppUpdatePublisher publisher = new AppUpdatePublisher(new LocalAppUpdateLog(), bus);
    publisher.addListener(
        (app, updates) ->
            updates.forEach(u -> logged.add(app + ":" + u.puid() + ":" + u.status().wireName())));
    // The grants as the node reads them: from the database, which the test takes away.
    events =
        new LoggedPresenceEvents(
            publisher,
            user ->
                databaseDown.get()
                    ? CompletableFuture.failedFuture(
                        StoreException.unavailable(new IllegalStateException("down"), "grants")
                            .getCause())
                    : persistence.grants().listByUser(user));
  }

  @AfterEach
  void close() {
    timers.shutdownNow();
    bus.close();
  }

  private long app(String name) {
    String unique = name + "-" + UUID.randomUUID().toString().substring(0, 8);
    return join(persistence
            .apps()
            .create(new NewApplication(unique, unique + ".example", "d", "dev", "dev@x", "k")))
        .id();
  }

  private String grant(String user, long app) {
    return join(persistence.grants().grant(user, app, user)).puid();
  }

  private UnpublishedChanges unpublished(int max, Duration firstWait) {
    return new UnpublishedChanges(
        state, events, timers, Clock.systemUTC(), metrics, max, firstWait, Duration.ofMillis(200));
  }

  /**
   * {@code user}'s {@code device} online (for {@code apps}, null: all), published through {@code
   * changes}.
   */
  private UUID online(PresenceChanges changes, String user, String device, ApplicationIds apps) {
    UUID session = UUID.randomUUID();
    long now = System.currentTimeMillis();
    join(state.claim(user, device, session, "node-a", 10, now));
    PresenceUpdate u =
        join(state.update(user, device, session, PresenceStatus.ONLINE, null, apps, null, now));
    join(changes.publish(user, u, now));
    return session;
  }

  /** Releases the device as its grace period ending would, publishing through {@code changes}. */
  private PresenceUpdate release(
      PresenceChanges changes, String user, String device, UUID session) {
    long now = System.currentTimeMillis();
    PresenceUpdate u = join(state.release(user, device, session, now));
    join(changes.publish(user, u, now));
    return u;
  }

  private long count(String name) {
    return metrics.registry().counter(name).getCount();
  }

  @Test
  void releasedWhileGrantsUnreadable_publishedOnceReadable_onceForEachApplication() {
    long a = app("a");
    long b = app("b");
    String pa = grant(alice, a);
    String pb = grant(alice, b);
    UnpublishedChanges waiting = unpublished(10, Duration.ofMillis(50));
    PresenceChanges changes = new PresenceChanges(events, metrics, waiting);
    UUID phone = online(changes, alice, "phone", null);
    assertThat(logged)
        .containsExactlyInAnyOrder(a + ":" + pa + ":online", b + ":" + pb + ":online");
    logged.clear();

    databaseDown.set(true);
    PresenceUpdate offline = release(changes, alice, "phone", phone);
    assertThat(waiting.waiting()).isEqualTo(1);
    // Tried again while the database is away (every 50 ms, doubling up to 200): still waiting.
    await().pollDelay(Duration.ofMillis(600)).atMost(WAIT).until(() -> true);
    assertThat(logged).isEmpty();
    assertThat(waiting.waiting()).isEqualTo(1);

    databaseDown.set(false);
    await().atMost(WAIT).until(() -> waiting.waiting() == 0);
    assertThat(logged)
        .containsExactlyInAnyOrder(a + ":" + pa + ":offline", b + ":" + pb + ":offline");
    assertThat(count("presence.device.presence.republished")).isEqualTo(1);

    // The same change published again (a second node remembered it too): nothing is repeated.
    logged.clear();
    waiting.add(alice, offline);
    await().atMost(WAIT).until(() -> waiting.waiting() == 0);
    assertThat(count("presence.device.presence.republished")).isEqualTo(2);
    assertThat(logged).isEmpty();
  }

  /**
   * A status stored by the store's batches whose log call then failed (a Redis Cluster's split
   * path; {@code RedisStatusBatchesClusterIT} shows the store handing the change over) reaches the
   * unpublished changes once the batches are attached, and each application hears of it once.
   */
  @Test
  void statusStoredByTheBatches_butNotLogged_isPublishedOnce() {
    long a = app("a");
    String pa = grant(alice, a);
    UnpublishedChanges waiting = unpublished(10, Duration.ofMillis(50));
    PresenceChanges changes = new PresenceChanges(events, metrics, waiting);
    Clock clock = Clock.systemUTC();
    SessionStatuses statuses =
        new SessionStatuses(
            state,
            changes,
            new SettingsMessages("node-a", state, changes, session -> {}, clock),
            clock,
            metrics.latency());
    statuses.attach(new StoredNotLogged());
    UUID phone = UUID.randomUUID();
    join(state.claim(alice, "phone", phone, "node-a", 10, clock.millis()));

    join(statuses.update(alice, "phone", phone, PresenceStatus.ONLINE, null, null));
    assertThat(count("presence.device.presence.publish_failures")).isEqualTo(1);
    await().atMost(WAIT).until(() -> waiting.waiting() == 0);
    assertThat(logged).containsExactly(a + ":" + pa + ":online");
    assertThat(count("presence.device.presence.republished")).isEqualTo(1);
  }

  /**
   * The store's status batches as far as this test needs them: each status is stored in the state
   * store, then its log call fails, and its changes go to the listener the gateway attached.
   */
  private final class StoredNotLogged implements StatusBatches {
    private volatile Unlogged unlogged;

    @Override
    public void whenUnlogged(Unlogged listener) {
      unlogged = listener;
    }

    @Override
    public CompletionStage<PresenceUpdate> update(
        String user,
        String device,
        UUID session,
        PresenceStatus status,
        String message,
        ApplicationIds applicationIds,
        UserMessages messages,
        long now) {
      return state
          .update(user, device, session, status, message, applicationIds, messages, now)
          .thenApply(
              u -> {
                Unlogged to = unlogged;
                if (to != null && !u.changes().isEmpty()) {
                  to.unlogged(user, u);
                }
                return u;
              });
    }
  }

  @Test
  void userBackBeforeTheRetry_isNotShownOffline() {
    long a = app("a");
    grant(alice, a);
    // No timed try: only the database's return starts one.
    UnpublishedChanges waiting = unpublished(10, Duration.ofHours(1));
    PresenceChanges changes = new PresenceChanges(events, metrics, waiting);
    UUID phone = online(changes, alice, "phone", null);
    logged.clear();

    databaseDown.set(true);
    release(changes, alice, "phone", phone);
    assertThat(waiting.waiting()).isEqualTo(1);
    databaseDown.set(false);
    // Back (here or on another node) before the node tried again: online, as the app saw her.
    online(changes, alice, "tablet", null);
    waiting.retryNow();
    await().atMost(WAIT).until(() -> waiting.waiting() == 0);
    assertThat(logged).isEmpty();
  }

  @Test
  void deviceNamingOneApplication_onlyThatApplicationHearsOfItsRelease() {
    long a = app("a");
    long b = app("b");
    String pa = grant(alice, a);
    grant(alice, b);
    UnpublishedChanges waiting = unpublished(10, Duration.ofMillis(50));
    PresenceChanges changes = new PresenceChanges(events, metrics, waiting);
    UUID phone = online(changes, alice, "phone", ApplicationIds.of(a));
    assertThat(logged).containsExactly(a + ":" + pa + ":online");
    logged.clear();

    databaseDown.set(true);
    release(changes, alice, "phone", phone);
    databaseDown.set(false);
    await().atMost(WAIT).until(() -> waiting.waiting() == 0);
    // b never saw her online: it hears nothing.
    assertThat(logged).containsExactly(a + ":" + pa + ":offline");
  }

  @Test
  void pastTheBound_aChangeIsCountedAndLeft_aUserAlreadyWaitingIsNotCountedAgain() {
    UnpublishedChanges waiting = unpublished(2, Duration.ofHours(1));
    PresenceUpdate change =
        new PresenceUpdate(
            true,
            List.of(new PresenceChange(0, PresenceStatus.OFFLINE, null, 5)),
            ApplicationIds.NONE);
    waiting.add("u1", change);
    waiting.add("u2", change);
    waiting.add("u1", change);
    assertThat(waiting.waiting()).isEqualTo(2);
    assertThat(count("presence.device.presence.unpublished_dropped")).isZero();
    waiting.add("u3", change);
    assertThat(waiting.waiting()).isEqualTo(2);
    assertThat(count("presence.device.presence.unpublished_dropped")).isEqualTo(1);
  }
}
