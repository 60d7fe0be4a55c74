package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

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

  /**
   * An application id is written one way: with a leading zero it names no application, on the
   * update channel and stream as on every other route (they served the application then).
   */
  @Test
  void anAppIdWithALeadingZero_isUnknownApp_onTheChannelAndTheStream() throws Exception {
    UpdatesFixture.App app = fx.activeApp(node, "Zero");
    byte[] key = ("{\"key\":\"" + app.key() + "\"}").getBytes(StandardCharsets.UTF_8);
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/0" + app.id())) {
      ws.send(RawWebSocket.TEXT, true, key);
      assertThat(ws.readText(WAIT, true)).contains("\"errno\":" + ErrorCode.UNKNOWN_APP.errno());
      assertThat(ws.awaitClose(WAIT).closeCode()).isEqualTo(ErrorCode.UNKNOWN_APP.closeCode());
    }
    java.net.http.HttpResponse<String> stream =
        TestNode.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/0" + app.id() + "/presence.json"))
                .header("Authorization", "Bearer " + app.key())
                .build());
    assertThat(stream.statusCode()).isEqualTo(404);
    assertThat(stream.body()).contains("\"errno\":" + ErrorCode.UNKNOWN_APP.errno());
  }

  /**
   * Once the node's update hubs are closed (shutdown), an admission asked meanwhile opens no hub
   * (one opened then was left open, its subscriptions and buffers with it) and fails as the node
   * shuts down.
   */
  @Test
  void onceClosed_anAdmissionOpensNoHub_andFailsAsTheNodeShutsDown() {
    try (TestNode other = startNode()) {
      AppUpdates updates = other.server().updates();
      UpdatesFixture.App app = fx.activeApp(other, "Closing");
      try (UpdateClient c = UpdateClient.connected(other, app.id(), app.key(), -1)) {
        c.snapshot();
        assertThat(updates.openHubs()).isEqualTo(1);
        updates.close();
        assertThat(updates.openHubs()).isZero();
        assertThatThrownBy(() -> updates.admitInternal(app.id()).toCompletableFuture().join())
            .hasCauseInstanceOf(ProtocolException.class)
            .cause()
            .extracting(e -> ((ProtocolException) e).code())
            .isEqualTo(ErrorCode.SERVER_SHUTTING_DOWN);
        assertThat(updates.openHubs()).isZero();
      }
    }
  }

  /**
   * The application reads the result, then the snapshot, then the answers to frames it sent after
   * its key frame, however early it sent them: right after the result (while the snapshot is read),
   * or in the key frame's own write (read with it, while the key is checked). A snapshot of one
   * user per step makes its reading take many database reads, time in which the frame arrives.
   */
  @Test
  void framesSentBeforeTheSnapshot_areAnsweredAfterIt_resultSnapshotThenErrno23() throws Exception {
    Map<String, String> s = TestNode.baseSettings(dataDir.resolve("order"));
    s.putAll(UpdatesFixture.settings());
    s.put("updates.snapshot-page", "1");
    try (TestNode small = TestNode.start(s, r -> {})) {
      UpdatesFixture.App app = fx.activeApp(small, "Order");
      for (int i = 0; i < 40; i++) {
        fx.grant(small, fx.email("order-" + i), app);
      }
      byte[] key = ("{\"key\":\"" + app.key() + "\"}").getBytes(StandardCharsets.UTF_8);
      byte[] again = "{\"key\":\"again\"}".getBytes(StandardCharsets.UTF_8);
      for (boolean oneWrite : new boolean[] {false, true}) {
        try (RawWebSocket ws = RawWebSocket.connect(small.port(), "/" + app.id())) {
          List<String> got = new ArrayList<>();
          if (oneWrite) {
            Random random = new Random(26);
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.writeBytes(RawWebSocket.frame(RawWebSocket.TEXT, true, key, random));
            both.writeBytes(RawWebSocket.frame(RawWebSocket.TEXT, true, again, random));
            ws.sendBytes(both.toByteArray());
          } else {
            ws.send(RawWebSocket.TEXT, true, key);
            String result = ws.readText(WAIT, true);
            got.add(result);
            ws.send(RawWebSocket.TEXT, true, again);
          }
          for (String t = ws.readText(WAIT, true); t != null; t = ws.readText(WAIT, true)) {
            got.add(t);
            if (t.contains("\"errno\"")) {
              break;
            }
          }
          assertThat(got).as("one write: %s", oneWrite).hasSize(3);
          assertThat(got.get(0)).isEqualTo("{\"result\":true}");
          assertThat(got.get(1)).startsWith("{\"snapshot\":[]").contains("\"done\":true");
          assertThat(got.get(2)).contains("\"errno\":" + ErrorCode.ALREADY_CONNECTED.errno());
          // The socket stays open: the channel only sends.
          assertThat(ws.readText(Duration.ofMillis(300), true)).isNull();
          assertThat(ws.ended(Duration.ofMillis(100))).isFalse();
        }
      }
    }
  }

  /**
   * An application that sends its key frame in the upgrade request's own write, without waiting for
   * the 101, gets the 101 and then the key's result: the bytes read after the request are the
   * WebSocket's first frame (they were lost when the HTTP codec left the pipeline).
   */
  @Test
  void aKeyFrameSentInTheUpgradesOwnWrite_isAnswered() throws Exception {
    UpdatesFixture.App app = fx.activeApp(node, "Early");
    byte[] key = ("{\"key\":\"" + app.key() + "\"}").getBytes(StandardCharsets.UTF_8);
    try (RawWebSocket ws =
        RawWebSocket.connectSending(
            node.port(),
            "/" + app.id(),
            null,
            RawWebSocket.frame(RawWebSocket.TEXT, true, key, new Random(28)))) {
      assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
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
