package org.presence.gateway.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.testing.CountingAppRepository;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;

/**
 * {@link AppCache#findAll}: the ids the cache does not hold are read in one call, those it holds
 * (an application, or "none") are not read again; an invalidation and the ttl make an entry read
 * again, as with {@link AppCache#find}.
 */
class AppCacheTest {
  private static final long UNKNOWN = 987_654_321L;

  @TempDir Path dir;
  private EmbeddedStore store;
  private CountingAppRepository counted;

  @BeforeEach
  void open() throws Exception {
    store = EmbeddedStore.open(dir);
    counted = new CountingAppRepository(store.db.apps());
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static <T> T done(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private Application app(String name) throws Exception {
    return done(
        store
            .db
            .apps()
            .create(
                new NewApplication(
                    name, name.toLowerCase() + ".example", "d", "dev:o", "o@example.com", "k")));
  }

  private AppCache cache(Duration ttl) {
    return new AppCache(counted.apps, new CachesConfig.Spec(1000, ttl), store.invalidations);
  }

  @Test
  void findAll_readsOnlyWhatItDoesNotHold_inOneCall_andRemembersNone() throws Exception {
    Application a = app("A");
    Application b = app("B");
    Application c = app("C");
    AppCache apps = cache(Duration.ofMinutes(5));
    assertThat(done(apps.find(a.id()))).contains(a);
    counted.clear();

    Map<Long, Optional<Application>> found =
        done(apps.findAll(List.of(a.id(), b.id(), c.id(), UNKNOWN, b.id())));

    assertThat(found)
        .containsOnlyKeys(a.id(), b.id(), c.id(), UNKNOWN)
        .containsEntry(a.id(), Optional.of(a))
        .containsEntry(b.id(), Optional.of(b))
        .containsEntry(c.id(), Optional.of(c))
        .containsEntry(UNKNOWN, Optional.empty());
    assertThat(counted.reads).hasSize(1);
    assertThat(counted.reads.get(0).method()).isEqualTo("findAll");
    assertThat(counted.reads.get(0).ids()).containsExactlyInAnyOrder(b.id(), c.id(), UNKNOWN);

    counted.clear();
    assertThat(done(apps.findAll(List.of(c.id(), UNKNOWN))))
        .isEqualTo(Map.of(c.id(), Optional.of(c), UNKNOWN, Optional.empty()));
    assertThat(done(apps.find(UNKNOWN))).isEmpty();
    assertThat(done(apps.find(b.id()))).contains(b);
    assertThat(done(apps.findAll(List.of()))).isEmpty();
    assertThat(counted.reads).isEmpty();
  }

  @Test
  void findAll_afterAnInvalidation_readsTheChangedApplicationAgain() throws Exception {
    Application a = app("A");
    Application b = app("B");
    AppCache apps = cache(Duration.ofMinutes(5));
    done(apps.findAll(List.of(a.id(), b.id())));
    Application verified = done(store.db.apps().markVerified(b.id())).orElseThrow();
    done(store.invalidations.publish(AppCache.KIND, Long.toString(b.id())));
    counted.clear();

    assertThat(done(apps.findAll(List.of(a.id(), b.id()))))
        .isEqualTo(Map.of(a.id(), Optional.of(a), b.id(), Optional.of(verified)));
    assertThat(counted.reads)
        .containsExactly(new CountingAppRepository.Read("findAll", List.of(b.id())));
  }

  @Test
  void findAll_afterTheTtl_readsAgain() throws Exception {
    Application a = app("A");
    AppCache apps = cache(Duration.ofMillis(200));
    done(apps.findAll(List.of(a.id(), UNKNOWN)));
    Thread.sleep(400);
    counted.clear();

    assertThat(done(apps.findAll(List.of(a.id(), UNKNOWN))))
        .isEqualTo(Map.of(a.id(), Optional.of(a), UNKNOWN, Optional.empty()));
    assertThat(counted.reads).hasSize(1);
    assertThat(counted.reads.get(0).ids()).containsExactlyInAnyOrder(a.id(), UNKNOWN);
  }
}
