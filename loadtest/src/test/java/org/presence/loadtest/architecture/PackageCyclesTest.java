package org.presence.loadtest.architecture;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The load harness's package graph has no cycles (its root package included); test code aside. */
class PackageCyclesTest {
  @Test
  void loadtestPackages_formNoCycle() {
    slices()
        .matching("org.presence.loadtest.(**)")
        .should()
        .beFreeOfCycles()
        .check(
            new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.presence.loadtest"));
  }
}
