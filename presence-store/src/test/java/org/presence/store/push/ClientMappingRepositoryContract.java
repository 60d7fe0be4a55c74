package org.presence.store.push;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.store.db.Persistence;
import org.presence.store.error.StoreException;

/**
 * The behaviour of {@link ClientMappingRepository} on the embedded database ({@code
 * EmbeddedClientMappingsTest}) and PostgreSQL ({@code PostgresClientMappingsIT}).
 */
public abstract class ClientMappingRepositoryContract {
  protected Persistence persistence;
  protected ClientMappingRepository mappings;

  protected abstract Persistence open();

  @BeforeEach
  void openRepository() {
    persistence = open();
    mappings = new JdbiClientMappingRepository(persistence.db());
  }

  @AfterEach
  void close() {
    persistence.close();
  }

  private static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Throwable failure(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void purgeUnused_forgetsOnlyMappingsNeitherTiedNorTouchedSinceTheCutoff() {
    java.time.Instant t0 = org.presence.store.jdbi.Timestamps.now();
    await(mappings.tie("old-1", "alice", "phone", null));
    await(mappings.tie("old-2", "alice", "laptop", null));
    await(mappings.tie("used", "bob", "phone", null));
    await(mappings.tie("retied", "carol", "phone", null));
    // A day later (an injected instant): a push server reported for one id, a device tied
    // another again.
    java.time.Instant day = t0.plus(java.time.Duration.ofDays(1));
    await(mappings.touch("used", day));
    await(mappings.touch("nobody-tied-this", day));
    assertThat(await(mappings.find("used")).orElseThrow().updatedAt()).isAfterOrEqualTo(day);
    // A touch never moves the time back.
    await(mappings.touch("used", t0));
    assertThat(await(mappings.find("used")).orElseThrow().updatedAt()).isAfterOrEqualTo(day);

    java.time.Instant cutoff = day.minusSeconds(1);
    assertThat(await(mappings.purgeUnused(t0.minusSeconds(60), 10))).isZero();
    // Tying again refreshes a mapping (to now, after that cutoff): kept.
    await(mappings.tie("retied", "carol", "phone", null));
    assertThat(await(mappings.purgeUnused(t0.minusSeconds(60), 10))).isZero();
    // The oldest first, at most the limit per call.
    // (Other tests of the class may have left mappings in the same schema.)
    assertThat(await(mappings.purgeUnused(cutoff, 1))).isEqualTo(1);
    while (await(mappings.purgeUnused(cutoff, 10)) == 10) {
      // the next batch
    }
    // old-1, old-2 and retied (tied before the cutoff) are gone.
    assertThat(await(mappings.find("retied"))).isEmpty();
    assertThat(await(mappings.find("old-1"))).isEmpty();
    assertThat(await(mappings.find("old-2"))).isEmpty();
    assertThat(await(mappings.find("used"))).isPresent();
    assertThat(await(mappings.purgeUnused(cutoff, 10))).isZero();
    // A forgotten id can be tied again, by anyone.
    assertThat(await(mappings.tie("old-1", "dave", "tablet", null)).userSub()).isEqualTo("dave");
  }

  @Test
  void tie_thenFindReturnsUserAndDevice() {
    ClientMapping m = await(mappings.tie("xpi-1", "alice", "phone", ApplicationIds.of(421, 7)));
    assertThat(m.userSub()).isEqualTo("alice");
    assertThat(m.deviceId()).isEqualTo("phone");
    assertThat(m.applicationIds()).isEqualTo(ApplicationIds.of(7, 421));
    assertThat(await(mappings.find("xpi-1"))).contains(m);
    assertThat(await(mappings.find("xpi-unknown"))).isEmpty();
  }

  @Test
  void tie_withoutApplicationIds_thenNullMeansAllGranted() {
    assertThat(await(mappings.tie("xpi-2", "alice", "phone", null)).applicationIds()).isNull();
    assertThat(await(mappings.tie("xpi-3", "alice", "tab", ApplicationIds.NONE)).applicationIds())
        .isEqualTo(ApplicationIds.NONE);
  }

  @Test
  void tie_againBySameUser_thenRefreshedInPlace() {
    ClientMapping first = await(mappings.tie("xpi-4", "alice", "phone", null));
    ClientMapping again = await(mappings.tie("xpi-4", "alice", "phone", ApplicationIds.of(1)));
    assertThat(again.createdAt()).isEqualTo(first.createdAt());
    assertThat(again.updatedAt()).isAfterOrEqualTo(first.updatedAt());
    assertThat(again.applicationIds()).isEqualTo(ApplicationIds.of(1));
  }

  @Test
  void tie_newIdForSameDevice_thenOldIdDropped() {
    await(mappings.tie("xpi-old", "alice", "phone", null));
    await(mappings.tie("xpi-new", "alice", "phone", null));
    assertThat(await(mappings.find("xpi-old"))).isEmpty();
    assertThat(await(mappings.find("xpi-new")).orElseThrow().deviceId()).isEqualTo("phone");
  }

  @Test
  void tie_byAnotherUser_thenPresenceIdTaken() {
    await(mappings.tie("xpi-5", "alice", "phone", null));
    Throwable e = failure(mappings.tie("xpi-5", "mallory", "phone", null));
    assertThat(e).isInstanceOf(StoreException.class);
    assertThat(((StoreException) e).code()).isEqualTo(ErrorCode.PRESENCE_ID_TAKEN);
    assertThat(await(mappings.find("xpi-5")).orElseThrow().userSub()).isEqualTo("alice");
  }

  @Test
  void tie_concurrentlyBySeveralUsers_thenExactlyOneOwns() {
    List<CompletableFuture<ClientMapping>> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      all.add(mappings.tie("xpi-race", "user-" + i, "phone", null).toCompletableFuture());
    }
    int won = 0;
    for (CompletableFuture<ClientMapping> f : all) {
      Throwable e = failure(f);
      if (e == null) {
        won++;
      } else {
        assertThat(((StoreException) e).code()).isEqualTo(ErrorCode.PRESENCE_ID_TAKEN);
      }
    }
    assertThat(won).isEqualTo(1);
  }
}
