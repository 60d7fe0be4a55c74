package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.permission.Grant;

/** The embedded default keeps apps, grants and PUIDs across a restart of the node. */
class RestartTest {
  @TempDir Path dataDir;

  @Test
  void restart_keepsAppsAndGrants() throws Exception {
    Application app;
    Grant grant;
    try (TestNode node = TestNode.embedded(dataDir)) {
      var store = node.server().store().persistence();
      app =
          store
              .apps()
              .create(new NewApplication("Keep", "keep.example", "", "dev", "dev@example", "k"))
              .toCompletableFuture()
              .get(5, TimeUnit.SECONDS);
      grant =
          store
              .grants()
              .grant("user", app.id(), "me")
              .toCompletableFuture()
              .get(5, TimeUnit.SECONDS);
    }
    try (TestNode node = TestNode.embedded(dataDir)) {
      var store = node.server().store().persistence();
      assertThat(store.apps().find(app.id()).toCompletableFuture().get(5, TimeUnit.SECONDS))
          .contains(app);
      assertThat(
              store
                  .grants()
                  .findByPuid(grant.puid())
                  .toCompletableFuture()
                  .get(5, TimeUnit.SECONDS))
          .contains(grant);
    }
  }
}
