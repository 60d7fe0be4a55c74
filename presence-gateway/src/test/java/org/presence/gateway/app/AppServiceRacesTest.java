package org.presence.gateway.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.AppsConfig;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.store.app.AppRepository;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;

/**
 * {@link AppService} when another node changes an application between its read and its write: a
 * second sending of a register key that counts the developer's applications after the first made
 * its application (reaching the limit) is answered with that application, not refused as one too
 * many; a developer's Activate that writes just after the operator's suspension is refused as
 * suspended.
 */
class AppServiceRacesTest {
  private static final String KEY = "form-0123456789abcdef";

  @TempDir Path dir;
  private EmbeddedStore store;

  @BeforeEach
  void open() throws Exception {
    store = EmbeddedStore.open(dir);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static <T> T done(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /**
   * The store, whose first call of {@code method} answers, then lets {@code other} run before the
   * caller goes on ({@code before}: runs it before the call instead).
   */
  private static AppRepository racing(
      AppRepository real, String name, boolean before, Runnable other) {
    AtomicBoolean raced = new AtomicBoolean();
    return (AppRepository)
        Proxy.newProxyInstance(
            AppRepository.class.getClassLoader(),
            new Class<?>[] {AppRepository.class},
            (proxy, method, args) -> {
              if (before && method.getName().equals(name) && raced.compareAndSet(false, true)) {
                other.run();
              }
              Object result;
              try {
                result = method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
              if (!before && method.getName().equals(name) && raced.compareAndSet(false, true)) {
                ((CompletionStage<?>) result).toCompletableFuture().get(20, TimeUnit.SECONDS);
                other.run();
              }
              return result;
            });
  }

  @Test
  void aSecondSendingThatCountsAfterTheFirstMadeItsApplication_getsThatApplication()
      throws Exception {
    AppRepository real = store.db.apps();
    Application[] first = new Application[1];
    Runnable otherSending =
        () -> {
          try {
            first[0] =
                done(
                    real.create(
                        new NewApplication(
                            "First", "first.example", "", "dev-race", "d@example.com", "k", KEY)));
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        };
    AppService apps =
        new AppService(
            racing(real, "findByRegisterKey", false, otherSending),
            null,
            null,
            null,
            new AppsConfig(Duration.ofSeconds(5), 4096, 1),
            null);
    Identity dev = new Identity("dev-race", "d@example.com", Instant.now().plusSeconds(600));
    Application answered = done(apps.register(dev, "First", "first.example", "", KEY));
    assertThat(answered).isEqualTo(first[0]);
    assertThat(done(real.listByOwner("dev-race"))).containsExactly(first[0]);
  }

  @Test
  void anActivateThatWritesJustAfterTheSuspension_isRefusedAsSuspended() throws Exception {
    AppRepository real = store.db.apps();
    Application app =
        done(
            real.create(
                new NewApplication("Held", "held.example", "", "dev-held", "h@example.com", "k")));
    done(real.markVerified(app.id()));
    done(real.activate(app.id(), "h1"));
    done(real.deactivate(app.id()));
    Runnable operatorSuspends =
        () -> {
          try {
            done(real.suspend(app.id()));
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        };
    AppService apps =
        new AppService(
            racing(real, "activate", true, operatorSuspends),
            null,
            null,
            null,
            new AppsConfig(Duration.ofSeconds(5), 4096, 10),
            null);
    Throwable refused =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> done(apps.activate("dev-held", app.id())));
    assertThat(refused).hasCauseInstanceOf(org.presence.protocol.error.ProtocolException.class);
    assertThat(((org.presence.protocol.error.ProtocolException) refused.getCause()).code())
        .isEqualTo(org.presence.protocol.error.ErrorCode.APP_SUSPENDED);
    assertThat(done(real.find(app.id())).orElseThrow().apiKeyHash()).isNull();
  }
}
