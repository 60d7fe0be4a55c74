package org.presence.gateway.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.presence.gateway.connection.OnEventLoop;

/**
 * The thread rule made checkable before anything runs: a class marked {@link OnEventLoop} calls no
 * blocking method (BlockHound catches, in the tests, what a call through other code does).
 */
class EventLoopRulesTest {
  /** Blocking methods, by owner and name. */
  private static final Set<String> BLOCKING =
      Set.of(
          "java.util.concurrent.CompletableFuture.join",
          "java.util.concurrent.CompletableFuture.get",
          "java.util.concurrent.Future.get",
          "java.util.concurrent.CountDownLatch.await",
          "java.util.concurrent.locks.LockSupport.park",
          "java.util.concurrent.locks.LockSupport.parkNanos",
          "java.util.concurrent.locks.Lock.lock",
          "java.lang.Thread.sleep",
          "java.lang.Thread.join",
          "java.lang.Object.wait",
          "java.net.InetAddress.getByName",
          "java.net.InetAddress.getAllByName",
          "java.net.InetAddress.getLocalHost");

  private static final DescribedPredicate<JavaCall<?>> BLOCKING_CALL =
      new DescribedPredicate<>("a blocking method") {
        @Override
        public boolean test(JavaCall<?> call) {
          String owner = call.getTargetOwner().getName();
          return BLOCKING.contains(owner + "." + call.getName())
              || owner.startsWith("java.sql.")
              || owner.equals("java.nio.file.Files")
              || owner.startsWith("java.io.File");
        }
      };

  static final ArchRule NO_BLOCKING_ON_THE_LOOP =
      noClasses()
          .that()
          .areAnnotatedWith(OnEventLoop.class)
          .should()
          .callCodeUnitWhere(BLOCKING_CALL)
          .because("an event loop serves many connections and must never wait");

  @Test
  void eventLoopClasses_callNoBlockingMethod() {
    JavaClasses gateway =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.presence.gateway");
    NO_BLOCKING_ON_THE_LOOP.check(gateway);
  }

  @OnEventLoop
  static final class WaitsOnTheLoop {
    Object answer(CompletableFuture<Object> f) {
      return f.join();
    }
  }

  @Test
  void theRuleCatches_aWaitInAnEventLoopClass() {
    JavaClasses bad = new ClassFileImporter().importClasses(WaitsOnTheLoop.class);
    assertThatThrownBy(() -> NO_BLOCKING_ON_THE_LOOP.check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("CompletableFuture.join()");
  }
}
