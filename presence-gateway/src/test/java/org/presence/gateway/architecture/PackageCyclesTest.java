package org.presence.gateway.architecture;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import org.junit.jupiter.api.Test;

/**
 * The package graph of the server's three modules and of the client library and desktop daemon has
 * no cycles: every package of {@code presence-protocol}, {@code presence-store}, {@code
 * presence-gateway}, {@code presence-client} and {@code presence-daemon} (each a slice of its own,
 * the module's root package included) depends on others only one way, so each can be read, tested
 * and moved without the rest. All five are on this module's class path.
 */
class PackageCyclesTest {
  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(PackageCyclesTest::mainCode)
          .importPackages(
              "org.presence.protocol",
              "org.presence.store",
              "org.presence.gateway",
              "org.presence.daemon");

  /**
   * Main code only, whether a module comes as a class folder or (in a reactor build) as its jar:
   * not test classes, nor the test jars the modules share.
   */
  private static boolean mainCode(Location location) {
    return !location.contains("/test-classes/") && !location.contains("-tests.jar");
  }

  @Test
  void protocolPackages_formNoCycle() {
    slices().matching("org.presence.protocol.(**)").should().beFreeOfCycles().check(MAIN);
  }

  @Test
  void storePackages_formNoCycle() {
    slices().matching("org.presence.store.(**)").should().beFreeOfCycles().check(MAIN);
  }

  @Test
  void gatewayPackages_formNoCycle() {
    slices().matching("org.presence.gateway.(**)").should().beFreeOfCycles().check(MAIN);
  }

  /** The client library is one package; the daemon has its root and {@code dbus}. */
  @Test
  void daemonPackages_formNoCycle() {
    slices().matching("org.presence.daemon.(**)").should().beFreeOfCycles().check(MAIN);
  }
}
