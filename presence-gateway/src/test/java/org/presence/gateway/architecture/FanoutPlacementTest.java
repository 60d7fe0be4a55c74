package org.presence.gateway.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import org.junit.jupiter.api.Test;
import org.presence.store.bus.PresenceBus;

/**
 * The presence-to-application fan-out (who sees a change, numbering through the logs, publishing)
 * lives in the gateway ({@code org.presence.gateway.fanout}); the store keeps storage and pub/sub,
 * as Centrifuge's Broker does (issue 13, section 7): it carries messages on the bus but publishes
 * none itself (the Redis update log's script publishes the batches the gateway's publisher hands
 * it, in the same call as their append), and its batched status path asks the gateway's fan-out
 * ({@code StatusBatches.Fanout}) for the audience.
 */
class FanoutPlacementTest {
  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(FanoutPlacementTest::mainCode)
          .importPackages("org.presence.store", "org.presence.gateway");

  private static boolean mainCode(Location location) {
    return !location.contains("/test-classes/") && !location.contains("-tests.jar");
  }

  @Test
  void noStoreClass_publishesOnTheBus() {
    noClasses()
        .that()
        .resideInAPackage("org.presence.store..")
        .should()
        .callMethod(PresenceBus.class, "publish", String.class, byte[].class)
        .because("what goes on the bus is the gateway's decision; the store only carries it")
        .check(MAIN);
  }
}
