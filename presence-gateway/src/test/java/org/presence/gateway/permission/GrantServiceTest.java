package org.presence.gateway.permission;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.config.GrantsConfig;
import org.presence.gateway.testing.CountingAppRepository;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;

/**
 * The user's grant list reads its applications together: one database call on a cold cache, none on
 * a warm one, whatever the number of grants; and lists them as one lookup each did.
 *
 * <p>A PUID the user names (in a page's path or an API call's) that is not 43 base64url characters
 * is {@code UNKNOWN_PUID} without a lookup: its characters (a NUL, which PostgreSQL refuses) never
 * reach the database.
 */
class GrantServiceTest {
  @TempDir Path dir;
  private EmbeddedStore store;
  private EmbeddedPersistence db;

  /** The PUIDs given to the repository's setEnabled and revoke. */
  private final List<String> looked = new CopyOnWriteArrayList<>();

  private GrantService grants;

  /** The application reads the service's cache makes. */
  private CountingAppRepository counted;

  @BeforeEach
  void open() throws Exception {
    store = EmbeddedStore.open(dir);
    db = store.db;
    Invalidations invalidations = store.invalidations;
    CachesConfig.Spec spec = new CachesConfig.Spec(1000, Duration.ofMinutes(5));
    counted = new CountingAppRepository(db.apps());
    grants =
        new GrantService(
            recording(db.grants()),
            new AppCache(counted.apps, spec, invalidations),
            invalidations,
            spec,
            new GrantsConfig(10, 100, 100, 100));
  }

  @AfterEach
  void close() {
    store.close();
  }

  /** {@code real}, noting each PUID that setEnabled or revoke is asked about. */
  private GrantRepository recording(GrantRepository real) {
    return (GrantRepository)
        Proxy.newProxyInstance(
            GrantRepository.class.getClassLoader(),
            new Class<?>[] {GrantRepository.class},
            (proxy, method, args) -> {
              if (method.getName().equals("setEnabled") || method.getName().equals("revoke")) {
                looked.add((String) args[1]);
              }
              try {
                return method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  private static <T> T done(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static ErrorCode failure(CompletionStage<?> s) {
    try {
      s.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      assertThat(cause).isInstanceOf(ProtocolException.class);
      return ((ProtocolException) cause).code();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("did not fail");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "\u0000",
        "a\u0000b",
        "nope",
        "",
        // 43 characters, one of them not base64url.
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\u0000",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
      })
  void setEnabledAndRevoke_whenNotAPuid_thenUnknownPuidWithoutALookup(String puid) {
    assertThat(failure(grants.setEnabled("alice", puid, false))).isEqualTo(ErrorCode.UNKNOWN_PUID);
    assertThat(failure(grants.setEnabled("alice", puid, true))).isEqualTo(ErrorCode.UNKNOWN_PUID);
    assertThat(failure(grants.revoke("alice", puid))).isEqualTo(ErrorCode.UNKNOWN_PUID);
    assertThat(looked).isEmpty();
  }

  @Test
  void setEnabledAndRevoke_whenAPuid_thenLookedUp() throws Exception {
    Application app =
        done(
            db.apps()
                .create(new NewApplication("A", "a.example", "d", "dev:o", "o@example.com", "k")));
    Grant g = done(db.grants().grant("alice", app.id(), "Al"));
    assertThat(done(grants.setEnabled("alice", g.puid(), false)).enabled()).isFalse();
    // Another user's grant, or a well-formed PUID of none, is unknown after the lookup.
    assertThat(failure(grants.revoke("bob", g.puid()))).isEqualTo(ErrorCode.UNKNOWN_PUID);
    String none = "A".repeat(43);
    assertThat(failure(grants.setEnabled("alice", none, true))).isEqualTo(ErrorCode.UNKNOWN_PUID);
    assertThat(done(grants.revoke("alice", g.puid())).puid()).isEqualTo(g.puid());
    assertThat(looked).containsExactly(g.puid(), g.puid(), none, g.puid());
  }

  /**
   * 50 applications in every state, granted to carol (one of them twice, under another string, and
   * some grants paused): the list names each grant's application and domain, in the repository's
   * order, as looking each up alone gives; and on a cold cache it costs one read of the 50
   * applications, on a warm one none.
   */
  @Test
  void list_ofFiftyGrants_readsTheApplicationsInOneCall_thenFromTheCache() throws Exception {
    List<Application> apps = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      Application a =
          done(
              db.apps()
                  .create(
                      new NewApplication(
                          "App " + i, "app" + i + ".example", "d", "dev:o", "o@example.com", "k")));
      long id = a.id();
      switch (i % 4) {
        case 1 -> done(db.apps().markVerified(id));
        case 2 -> {
          done(db.apps().markVerified(id));
          done(db.apps().activate(id, "h" + i));
        }
        case 3 -> {
          done(db.apps().markVerified(id));
          done(db.apps().activate(id, "h" + i));
          done(db.apps().deactivate(id));
        }
        default -> {
          // registered only
        }
      }
      apps.add(a);
      Grant g = done(db.grants().grant("carol", id, "Carol"));
      if (i % 5 == 0) {
        done(db.grants().setEnabled("carol", g.puid(), false));
      }
    }
    done(db.grants().grant("carol", apps.get(7).id(), "Caroline"));
    done(db.grants().grant("dave", apps.get(8).id(), "Dave"));

    List<GrantService.GrantView> views = done(grants.list("carol"));

    // As before: each stored grant of carol's, in order, with its application looked up alone.
    List<GrantService.GrantView> expected = new ArrayList<>();
    for (Grant g : done(db.grants().listByUser("carol"))) {
      Application a = done(db.apps().find(g.appId())).orElseThrow();
      expected.add(new GrantService.GrantView(g, a.name(), a.domain()));
    }
    assertThat(views).hasSize(51).isEqualTo(expected);
    assertThat(counted.reads).hasSize(1);
    assertThat(counted.reads.get(0).method()).isEqualTo("findAll");
    assertThat(counted.reads.get(0).ids())
        .containsExactlyInAnyOrderElementsOf(apps.stream().map(Application::id).toList());

    counted.clear();
    assertThat(done(grants.list("carol"))).isEqualTo(expected);
    assertThat(counted.reads).isEmpty();
  }

  /** A user without grants costs no application read. */
  @Test
  void list_withoutGrants_isEmpty_withoutReadingApplications() throws Exception {
    assertThat(done(grants.list("nobody"))).isEmpty();
    assertThat(counted.reads).isEmpty();
  }
}
