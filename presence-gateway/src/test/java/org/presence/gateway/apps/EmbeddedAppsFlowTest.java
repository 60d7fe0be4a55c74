package org.presence.gateway.apps;

import java.nio.file.Path;
import java.util.Map;
import org.presence.gateway.testing.TestNode;

/** The applications flow on the embedded default: H2 in the data directory, in-process bus. */
class EmbeddedAppsFlowTest extends AppsFlowContract {
  @Override
  protected Map<String, String> settings(Path dataDir) {
    return TestNode.baseSettings(dataDir);
  }
}
