package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.permission.Grant;
import org.presence.store.permission.PuidState;

/** PUIDs of a batch resolved at once, cached, and dropped when the user changes a grant. */
class PuidDirectoryTest {
  @TempDir Path dir;
  private EmbeddedStore store;
  private EmbeddedPersistence db;
  private PuidDirectory puids;

  @BeforeEach
  void open() throws Exception {
    store = EmbeddedStore.open(dir);
    db = store.db;
    puids =
        new PuidDirectory(
            db.grants(), new CachesConfig.Spec(1000, Duration.ofMinutes(5)), store.invalidations);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static <T> T done(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void resolve_thenCachedUntilTheUsersGrantsChange() throws Exception {
    Application app =
        done(
            db.apps()
                .create(new NewApplication("A", "a.example", "d", "dev:o", "o@example.com", "k")));
    Grant g = done(db.grants().grant("alice", app.id(), "Al"));
    assertThat(done(puids.resolve(List.of(g.puid(), "junk", "x".repeat(43)))))
        .containsOnlyKeys(g.puid());
    assertThat(done(puids.resolve(List.of(g.puid()))).get(g.puid()).state())
        .isEqualTo(PuidState.ACTIVE);

    // Changed behind the cache's back: the cached answer stands ...
    done(db.grants().setEnabled("alice", g.puid(), false));
    assertThat(done(puids.resolve(List.of(g.puid()))).get(g.puid()).state())
        .isEqualTo(PuidState.ACTIVE);
    // ... until the grants of the user are invalidated, as GrantService does after every change.
    done(store.invalidations.publish(GrantService.KIND, "alice"));
    assertThat(done(puids.resolve(List.of(g.puid()))).get(g.puid()).state())
        .isEqualTo(PuidState.PAUSED);
    assertThat(PuidDirectory.wellFormed(g.puid())).isTrue();
    assertThat(PuidDirectory.wellFormed("a b")).isFalse();
  }
}
