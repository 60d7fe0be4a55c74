package org.presence.gateway.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.AppsConfig;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.AppRepository;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;

/**
 * {@link AppService} when registrations and changes race: registrations sent at once (as from
 * several nodes) never pass {@code apps.max-per-developer} together, and one register key sent at
 * once makes one application; a developer's Activate that writes just after the operator's
 * suspension is refused as suspended. The store's calls run on the embedded store's database
 * threads; the proxy's {@code other} waits on one for a call that needs another (the store has
 * four, so this cannot deadlock; keep at least two).
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

  private static AppService service(AppRepository store, int maxPerDeveloper) {
    return new AppService(
        store,
        null,
        null,
        null,
        new AppsConfig(Duration.ofSeconds(5), 4096, maxPerDeveloper),
        null);
  }

  @Test
  void registrationsAtOnce_neverPassTheLimitTogether_andAKeySentAtOnceMakesOne() throws Exception {
    AppService apps = service(store.db.apps(), 3);
    Identity dev = new Identity("dev-race", "d@example.com", Instant.now().plusSeconds(600));
    List<CompletableFuture<Application>> sent = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      sent.add(apps.register(dev, "App" + i, "a" + i + ".example", "", null).toCompletableFuture());
      sent.add(apps.register(dev, "Keyed", "keyed.example", "", KEY).toCompletableFuture());
    }
    List<Application> made = new ArrayList<>();
    int refused = 0;
    for (CompletableFuture<Application> f : sent) {
      try {
        made.add(f.get(20, TimeUnit.SECONDS));
      } catch (ExecutionException e) {
        assertThat(((ProtocolException) e.getCause()).code()).isEqualTo(ErrorCode.TOO_MANY_APPS);
        refused++;
      }
    }
    List<Application> mine = done(store.db.apps().listByOwner("dev-race"));
    assertThat(mine).hasSize(3);
    assertThat(made).allSatisfy(app -> assertThat(mine).contains(app));
    assertThat(made.stream().filter(app -> app.name().equals("Keyed")).distinct())
        .hasSizeLessThanOrEqualTo(1);
    assertThat(mine.stream().filter(app -> app.name().equals("Keyed"))).hasSizeLessThanOrEqualTo(1);
    assertThat(made.size() + refused).isEqualTo(16);
  }

  @Test
  void aKeySentAgainAtTheLimit_isAnsweredWithItsApplication() throws Exception {
    AppService apps = service(store.db.apps(), 1);
    Identity dev = new Identity("dev-k", "d@example.com", Instant.now().plusSeconds(600));
    Application first = done(apps.register(dev, "First", "first.example", "", KEY));
    assertThat(done(apps.register(dev, "First", "first.example", "", KEY))).isEqualTo(first);
    Throwable other =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> done(apps.register(dev, "Other", "other.example", "", "form-other-0123456789")));
    assertThat(((ProtocolException) other.getCause()).code()).isEqualTo(ErrorCode.TOO_MANY_APPS);
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
    AppService apps = service(racing(real, "activate", true, operatorSuspends), 10);
    Throwable refused =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> done(apps.activate("dev-held", app.id())));
    assertThat(refused).hasCauseInstanceOf(ProtocolException.class);
    assertThat(((ProtocolException) refused.getCause()).code()).isEqualTo(ErrorCode.APP_SUSPENDED);
    assertThat(done(real.find(app.id())).orElseThrow().apiKeyHash()).isNull();
  }
}
