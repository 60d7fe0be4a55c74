package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.updates.UpdatesFixture.device;
import static org.presence.gateway.updates.UpdatesFixture.status;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebhookStub;
import org.presence.gateway.webhook.WebhookDispatcher;
import org.presence.gateway.webhook.WebhookSignature;
import org.presence.protocol.model.PresenceStatus;

/**
 * A webhook whose position is lost gets a snapshot call (every user not offline, delivery id {@code
 * <appid>:0-<N>}): after the embedded node restarts (its log and positions were in memory), and
 * when its position fell out of the log.
 */
class WebhookSnapshotTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  @TempDir Path dataDir;
  private final UpdatesFixture fx = new UpdatesFixture();

  @AfterEach
  void close() {
    fx.close();
  }

  private Map<String, String> settings(String name) {
    Map<String, String> s = TestNode.baseSettings(dataDir.resolve(name));
    s.putAll(UpdatesFixture.settings());
    return s;
  }

  /** Whether {@code call} is a snapshot call: its delivery id starts at 0. */
  private static boolean isSnapshot(WebhookStub.Call call) {
    String d = call.header(WebhookDispatcher.DELIVERY_HEADER);
    return d != null && d.contains(":0-");
  }

  /** The snapshot calls among the stub's calls. */
  private static List<WebhookStub.Call> snapshots(WebhookStub hook) {
    return hook.calls().stream().filter(WebhookSnapshotTest::isSnapshot).toList();
  }

  private static JsonNode json(String text) {
    try {
      return UpdatesFixture.JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  private static Map<String, String> users(WebhookStub.Call snapshot) {
    Map<String, String> out = new HashMap<>();
    json(snapshot.text()).forEach(p -> out.put(p.get(0).asText(), p.get(1).asText()));
    return out;
  }

  @Test
  void afterARestart_theWebhookGetsASnapshotWithoutTheUsersOnlineBefore_thenUpdatesGoOn() {
    Map<String, String> s = settings("restart");
    // Longer than the stop takes: nobody is marked offline before the node stops, as after a kill.
    s.put("device.offline-grace", "10s");
    try (WebhookStub hook = WebhookStub.start()) {
      String alice = fx.email("alice");
      String bob = fx.email("bob");
      TestNode first = TestNode.start(s, r -> {});
      UpdatesFixture.App app;
      String secret;
      String pa;
      String pb;
      DeviceTestClient da = null;
      DeviceTestClient db = null;
      try {
        app = fx.activeApp(first, "Restarted");
        secret = fx.webhook(app, hook.url("/hook"));
        pa = fx.grant(first, alice, app);
        pb = fx.grant(first, bob, app);
        da = device(first, alice, "phone");
        db = device(first, bob, "phone");
        status(da, PresenceStatus.ONLINE, null);
        status(db, PresenceStatus.AWAY, null);
        String a = pa;
        String b = pb;
        await()
            .atMost(WAIT)
            .until(() -> AppUpdatesContract.lastState(hook).equals(Map.of(a, "online", b, "away")));
      } finally {
        first.close();
        if (da != null) {
          da.close();
        }
        if (db != null) {
          db.close();
        }
      }
      int before = hook.calls().size();
      assertThat(snapshots(hook)).as("no snapshot call before the restart").isEmpty();

      try (TestNode second = TestNode.start(s, r -> {})) {
        await().atMost(WAIT).until(() -> !snapshots(hook).isEmpty());
        WebhookStub.Call call = snapshots(hook).get(0);
        assertThat(hook.calls().indexOf(call)).isGreaterThanOrEqualTo(before);
        assertThat(call.text()).as("nobody is online after the restart").isEqualTo("[]");
        String id = call.header(WebhookDispatcher.DELIVERY_HEADER);
        assertThat(id).startsWith(app.id() + ":0-");
        long seq = Long.parseLong(id.substring(id.indexOf('-') + 1));
        assertThat(
                WebhookSignature.verify(
                    secret,
                    call.header(WebhookDispatcher.DELIVERY_HEADER),
                    call.body(),
                    call.header(WebhookSignature.HEADER)))
            .isTrue();
        assertThat(call.header(WebhookDispatcher.SNAPSHOT_HEADER)).isEqualTo("part=1; last");
        assertThat(
                WebhookSignature.verify(
                    secret,
                    call.header(WebhookDispatcher.DELIVERY_HEADER),
                    "part=1; last",
                    call.body(),
                    call.header(WebhookSignature.SNAPSHOT_HEADER)))
            .isTrue();

        // Updates go on after the snapshot's number.
        try (DeviceTestClient back = device(second, bob, "phone")) {
          status(back, PresenceStatus.ONLINE, null);
          String b = pb;
          await()
              .atMost(WAIT)
              .until(
                  () ->
                      hook.calls().stream()
                          .filter(c -> !isSnapshot(c))
                          .map(c -> json(c.text()))
                          .anyMatch(
                              j ->
                                  j.size() == 1
                                      && j.get(0).get(0).asText().equals(b)
                                      && j.get(0).get(1).asText().equals("online")));
          WebhookStub.Call last = hook.calls().get(hook.calls().size() - 1);
          String range = last.header(WebhookDispatcher.DELIVERY_HEADER);
          long from = Long.parseLong(range.substring(range.indexOf(':') + 1, range.indexOf('-')));
          assertThat(from).isGreaterThan(seq);
        }
        assertThat(snapshots(hook)).as("one snapshot call").hasSize(1);
      }
    }
  }

  @Test
  void aPositionThatFellOutOfTheLog_getsASnapshotCall() {
    Map<String, String> s = settings("too-old");
    s.put("updates.log-max-per-app", "3");
    try (WebhookStub hook = WebhookStub.start();
        TestNode node = TestNode.start(s, r -> {})) {
      UpdatesFixture.App app = fx.activeApp(node, "Behind");
      fx.webhook(app, hook.url("/hook"));
      String alice = fx.email("alice");
      String bob = fx.email("bob");
      String carol = fx.email("carol");
      String pa = fx.grant(node, alice, app);
      String pb = fx.grant(node, bob, app);
      String pc = fx.grant(node, carol, app);
      try (DeviceTestClient da = device(node, alice, "phone");
          DeviceTestClient db = device(node, bob, "phone");
          DeviceTestClient dc = device(node, carol, "phone")) {
        status(da, PresenceStatus.ONLINE, null);
        await().atMost(WAIT).until(() -> hook.calls().size() >= 1);
        // Four updates within the interval, where the log keeps three.
        status(da, PresenceStatus.AWAY, null);
        status(db, PresenceStatus.ONLINE, null);
        status(dc, PresenceStatus.UNAVAILABLE, null);
        status(db, PresenceStatus.AWAY, null);
        await().atMost(WAIT).until(() -> !snapshots(hook).isEmpty());
        assertThat(users(snapshots(hook).get(0)))
            .isEqualTo(Map.of(pa, "away", pb, "away", pc, "unavailable"));
      }
    }
  }
}
