package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.failure;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.Persistence;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.UserMessages;
import org.presence.store.push.JdbiClientMappingRepository;

/** Push presence ids over the embedded database and the in-process state store. */
class PushPresenceTest {
  @TempDir Path dataDir;

  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final List<String> published = new CopyOnWriteArrayList<>();
  private Persistence persistence;
  private PushPresence push;

  @BeforeEach
  void setUp() {
    persistence = EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
    push =
        new PushPresence(
            new JdbiClientMappingRepository(persistence.db()),
            state,
            this::record,
            user ->
                CompletableFuture.completedFuture(
                    user.equals("alice") ? new UserMessages("At my desk", "Lunch") : null),
            Clock.systemUTC());
  }

  @AfterEach
  void tearDown() {
    persistence.close();
  }

  private CompletionStage<Void> record(String user, PresenceUpdate update, long now) {
    for (PresenceChange c : update.changes()) {
      published.add(user + ":" + c.appId() + ":" + c.status().wireName() + ":" + c.message());
    }
    return CompletableFuture.completedFuture(null);
  }

  @Test
  void reportedStatus_isADeviceOfItsOwn_withTheUsersMessage_forTheTiedApplications() {
    join(push.register("alice", "phone", ApplicationIds.of(5), "xpi-1"));
    join(push.status("xpi-1", PresenceStatus.AWAY));
    assertThat(published).containsExactly("alice:5:away:Lunch");
    assertThat(join(state.devices("alice"))).containsOnlyKeys("phone" + PushPresence.PUSHED);
    join(push.status("xpi-1", PresenceStatus.AWAY));
    assertThat(published).hasSize(1);
  }

  @Test
  void report_marksTheMappingUsed_atMostOnceADay_soTheRetentionSweepKeepsIt() {
    JdbiClientMappingRepository mappings = new JdbiClientMappingRepository(persistence.db());
    java.util.concurrent.atomic.AtomicReference<java.time.Instant> now =
        new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.now());
    Clock clock =
        new Clock() {
          @Override
          public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public java.time.Instant instant() {
            return now.get();
          }
        };
    PushPresence reported =
        new PushPresence(
            mappings, state, this::record, user -> CompletableFuture.completedFuture(null), clock);
    join(reported.register("bob", "phone", null, "xpi-9"));
    java.time.Instant tied = join(mappings.find("xpi-9")).orElseThrow().updatedAt();

    // Within a day of the tie: no write.
    now.set(tied.plus(java.time.Duration.ofHours(23)));
    join(reported.status("xpi-9", PresenceStatus.ONLINE));
    assertThat(join(mappings.find("xpi-9")).orElseThrow().updatedAt()).isEqualTo(tied);

    // Sixty days on, the device never tied it again, but its push server reports: marked used.
    java.time.Instant later = tied.plus(java.time.Duration.ofDays(60));
    now.set(later);
    join(reported.status("xpi-9", PresenceStatus.AWAY));
    assertThat(join(mappings.find("xpi-9")).orElseThrow().updatedAt())
        .isEqualTo(later.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    // A sweep forgetting what was unused for 30 days keeps it.
    assertThat(join(mappings.purgeUnused(later.minus(java.time.Duration.ofDays(30)), 100)))
        .isZero();
    assertThat(join(mappings.find("xpi-9"))).isPresent();
  }

  @Test
  void unknownId_thenUnknownPresenceId_andNothingStored() {
    assertThat(failure(push.status("xpi-2", PresenceStatus.ONLINE)))
        .isEqualTo(ErrorCode.UNKNOWN_PRESENCE_ID);
    assertThat(join(state.devices("alice"))).isEmpty();
    assertThat(published).isEmpty();
  }

  @Test
  void idOfAnotherUser_thenPresenceIdTaken_reRegisteringOnesOwnIdIsFine() {
    join(push.register("alice", "phone", null, "xpi-1"));
    join(push.register("alice", "phone", null, "xpi-1"));
    assertThat(failure(push.register("bob", "laptop", null, "xpi-1")))
        .isEqualTo(ErrorCode.PRESENCE_ID_TAKEN);
    join(push.status("xpi-1", PresenceStatus.ONLINE));
    assertThat(join(state.devices("alice"))).containsOnlyKeys("phone~push");
    assertThat(join(state.devices("bob"))).isEmpty();
  }
}
