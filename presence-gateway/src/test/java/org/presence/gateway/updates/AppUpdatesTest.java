package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.protocol.error.ErrorCode;

/** Presence updates to applications on the embedded default: one node, no outside server. */
class AppUpdatesTest extends AppUpdatesContract {
  @TempDir static Path dataDir;
  private static TestNode node;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.putAll(UpdatesFixture.settings());
    node = TestNode.start(s, r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Override
  protected TestNode nodeA() {
    return node;
  }

  @Override
  protected TestNode nodeB() {
    return node;
  }

  @Test
  void aFloodOfReconnects_isRefusedWithItsErrno_whileTheKeyIsChecked() {
    Map<String, String> s = TestNode.baseSettings(dataDir.resolve("flood"));
    s.putAll(UpdatesFixture.settings());
    s.put("updates.connect-rate", "0.1");
    s.put("updates.connect-burst", "3");
    try (TestNode small = TestNode.start(s, r -> {})) {
      UpdatesFixture.App app = fx.activeApp(small, "Flood");
      for (int i = 0; i < 3; i++) {
        try (UpdateClient c = UpdateClient.connected(small, app.id(), app.key(), -1)) {
          c.snapshot();
        }
      }
      // Wrong keys cost nothing of the application's allowance...
      for (int i = 0; i < 5; i++) {
        try (UpdateClient c = UpdateClient.open(small, app.id())) {
          c.sendKey("guess-" + i, -1);
          assertThat(c.next().path("errno").asInt()).isEqualTo(ErrorCode.INVALID_API_KEY.errno());
        }
      }
      // ...but one more connection with the key is one too many.
      try (UpdateClient c = UpdateClient.open(small, app.id())) {
        c.sendKey(app.key(), -1);
        assertThat(c.next().path("errno").asInt())
            .isEqualTo(ErrorCode.TOO_MANY_APP_RECONNECTS.errno());
        assertThat(c.awaitClose().code()).isEqualTo(ErrorCode.TOO_MANY_APP_RECONNECTS.closeCode());
      }
    }
  }

  @Override
  protected TestNode startNode() {
    Map<String, String> s = TestNode.baseSettings(dataDir.resolve("extra-" + System.nanoTime()));
    s.putAll(UpdatesFixture.settings());
    return TestNode.start(s, r -> {});
  }

  @Override
  protected long staleSince(long appId, long last) {
    // The in-memory log starts after a clock-based number: anything before it is from an earlier
    // run of the node, gone with it.
    return 1;
  }
}
