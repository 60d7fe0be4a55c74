package org.presence.gateway.permission;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
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
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;

/**
 * A PUID the user names (in a page's path or an API call's) that is not 43 base64url characters is
 * {@code UNKNOWN_PUID} without a lookup: its characters (a NUL, which PostgreSQL refuses) never
 * reach the database.
 */
class GrantServiceTest {
  @TempDir Path dir;
  private EmbeddedStore store;
  private EmbeddedPersistence db;

  /** The PUIDs given to the repository's setEnabled and revoke. */
  private final List<String> looked = new CopyOnWriteArrayList<>();

  private GrantService grants;

  @BeforeEach
  void open() throws Exception {
    store = EmbeddedStore.open(dir);
    db = store.db;
    Invalidations invalidations = store.invalidations;
    CachesConfig.Spec spec = new CachesConfig.Spec(1000, Duration.ofMinutes(5));
    grants =
        new GrantService(
            recording(db.grants()),
            new AppCache(db.apps(), spec, invalidations),
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
}
