package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.updates.UpdatesFixture.device;
import static org.presence.gateway.updates.UpdatesFixture.status;

import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.gateway.testing.WebhookStub;
import org.presence.gateway.updates.UpdatesFixture.App;
import org.presence.gateway.webhook.DeliveryLog;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;

/**
 * Webhooks sharing a node, over real sockets (webhook endpoints on loopback): slow applications do
 * not starve a fast one, slow successes back off, deactivation stops an application's webhook and
 * update connections at once, and a malformed 2xx answer is a failure.
 */
class WebhookFairnessTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private UpdatesFixture fx;
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @BeforeEach
  void fixture() {
    fx = new UpdatesFixture();
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
    fx.close();
  }

  private TestNode node(Map<String, String> extra) {
    Map<String, String> s = TestNode.baseSettings(dir.resolve("node"));
    s.putAll(UpdatesFixture.settings());
    s.putAll(extra);
    TestNode n = TestNode.start(s, r -> {});
    closeLater.add(0, n);
    return n;
  }

  private <T extends AutoCloseable> T later(T c) {
    closeLater.add(0, c);
    return c;
  }

  @Test
  void slowApps_doNotStarveAFastApp() {
    long hang = 3000;
    TestNode node =
        node(
            Map.of(
                "webhooks.timeout", "5s",
                "webhooks.slow-call", "5s",
                "webhooks.lease-ttl", "10s",
                "webhooks.max-in-flight", "2",
                "webhooks.max-in-flight-per-developer", "1"));
    // One developer's three slow applications, another developer's fast one.
    List<WebhookStub> slowHooks = new ArrayList<>();
    String slowUser = fx.email("slow-user");
    for (int i = 0; i < 3; i++) {
      App app = fx.activeApp(node, "Slow" + i, "dev-slow");
      WebhookStub hook = later(WebhookStub.start());
      for (int k = 0; k < 10; k++) {
        hook.then(WebhookStub.Behaviour.hang(hang));
      }
      fx.webhook(app, hook.url("/hook"));
      fx.grant(node, slowUser, app);
      slowHooks.add(hook);
    }
    App fast = fx.activeApp(node, "Fast", "dev-fast");
    WebhookStub fastHook = later(WebhookStub.start());
    fx.webhook(fast, fastHook.url("/hook"));
    String fastUser = fx.email("fast-user");
    String pFast = fx.grant(node, fastUser, fast);

    try (DeviceTestClient slowDevice = device(node, slowUser, "phone");
        DeviceTestClient fastDevice = device(node, fastUser, "phone")) {
      status(slowDevice, PresenceStatus.ONLINE, null);
      await().atMost(WAIT).until(() -> slowCalls(slowHooks).size() >= 1);
      long firstSlow = slowCalls(slowHooks).get(0).atMillis();
      status(fastDevice, PresenceStatus.ONLINE, null);
      await().atMost(WAIT).until(() -> !fastHook.calls().isEmpty());
      WebhookStub.Call first = fastHook.calls().get(0);
      assertThat(first.text()).contains(pFast);
      assertThat(first.atMillis())
          .as("the fast app is called while the first slow call still hangs, not after it")
          .isLessThan(firstSlow + hang);
      // The slow developer's applications take turns: each is called.
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> slowHooks.stream().allMatch(h -> !h.calls().isEmpty()));
    }
  }

  private static List<WebhookStub.Call> slowCalls(List<WebhookStub> hooks) {
    List<WebhookStub.Call> all = new ArrayList<>();
    hooks.forEach(h -> all.addAll(h.calls()));
    all.sort((a, b) -> Long.compare(a.atMillis(), b.atMillis()));
    return all;
  }

  @Test
  void slowSuccesses_backOff() throws Exception {
    TestNode node =
        node(
            Map.of(
                "webhooks.timeout", "5s",
                "webhooks.slow-call", "1s",
                "webhooks.lease-ttl", "10s",
                "webhooks.max-backoff", "4s"));
    App app = fx.activeApp(node, "SlowOk");
    WebhookStub hook = later(WebhookStub.start());
    for (int k = 0; k < 10; k++) {
      hook.then(WebhookStub.Behaviour.hang(1200)); // 200, after 1.2 s
    }
    fx.webhook(app, hook.url("/hook"));
    String user = fx.email("user");
    fx.grant(node, user, app);
    try (DeviceTestClient d = device(node, user, "phone")) {
      // Something new to send all along: a change every 250 ms until four calls have ended (each
      // is in the node's delivery log once it ended), for at most 60 s.
      long until = System.currentTimeMillis() + 60_000;
      int n = 0;
      while (node.server().webhooks().recentCalls(app.id()).size() < 4
          && System.currentTimeMillis() < until) {
        status(d, n++ % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.AWAY, null);
        Thread.sleep(250);
      }
    }
    List<WebhookStub.Call> calls = hook.calls();
    assertThat(calls).hasSizeGreaterThanOrEqualTo(4);
    // The waits as the node kept them: each call's start in its delivery log (the clock the
    // dispatcher computes the next call's time with), oldest first, not when the stub got it.
    List<DeliveryLog.Delivery> logged =
        new ArrayList<>(node.server().webhooks().recentCalls(app.id()));
    Collections.reverse(logged);
    assertThat(logged).hasSizeGreaterThanOrEqualTo(4);
    assertThat(logged)
        .as("slow successes")
        .allSatisfy(
            c -> {
              assertThat(c.ok()).isTrue();
              assertThat(c.latencyMillis()).isGreaterThanOrEqualTo(1000);
            });
    long g2 = Duration.between(logged.get(1).at(), logged.get(2).at()).toMillis();
    long g3 = Duration.between(logged.get(2).at(), logged.get(3).at()).toMillis();
    // interval 1 s: after two slow answers the wait is 2 s, after three 4 s (max-backoff), each
    // with up to a fifth more at random (RetryWaits); a call starts no sooner, however late.
    assertThat(g2).as("wait after the second slow success").isGreaterThanOrEqualTo(2000);
    assertThat(g3).as("wait after the third slow success").isGreaterThanOrEqualTo(4000);
    // Slow successes still deliver: each call carries only what is new since the last.
    List<String> deliveries = calls.stream().map(c -> c.header("X-Presence-Delivery")).toList();
    assertThat(deliveries).doesNotHaveDuplicates();
  }

  @Test
  void deactivation_stopsWebhookAndUpdateConnectionsAtOnce() throws Exception {
    TestNode node = node(Map.of());
    App app = fx.activeApp(node, "Gone");
    WebhookStub hook = later(WebhookStub.start());
    fx.webhook(app, hook.url("/hook"));
    String user = fx.email("user");
    String puid = fx.grant(node, user, app);
    try (DeviceTestClient d = device(node, user, "phone");
        UpdateClient updates = UpdateClient.connected(node, app.id(), app.key(), -1)) {
      updates.snapshot();
      status(d, PresenceStatus.ONLINE, null);
      assertThat(updates.updates(1).get(0).puid()).isEqualTo(puid);
      await().atMost(WAIT).until(() -> !hook.calls().isEmpty());
      // Something waits to be sent when the application is deactivated.
      status(d, PresenceStatus.AWAY, null);
      var off = app.dev().post("/api/apps/" + app.id() + "/deactivate", null);
      assertThat(off.statusCode()).as(off.body()).isEqualTo(200);
      long deactivatedAt = System.currentTimeMillis();
      // The "away" update may come first; then the error frame.
      com.fasterxml.jackson.databind.JsonNode frame = updates.next(WAIT);
      for (int i = 0; i < 3 && frame != null && !frame.has("errno"); i++) {
        frame = updates.next(WAIT);
      }
      assertThat(frame).as("an error frame").isNotNull();
      assertThat(frame.path("errno").asInt()).isEqualTo(ErrorCode.APP_NOT_ACTIVE.errno());
      assertThat(updates.awaitClose().code()).isEqualTo(ErrorCode.APP_NOT_ACTIVE.closeCode());
      await().atMost(WAIT).until(() -> !node.server().webhooks().sending(app.id()));
      for (int i = 0; i < 4; i++) {
        status(d, i % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.UNAVAILABLE, null);
      }
      // Three intervals: a live webhook would have been called again by now.
      Thread.sleep(3000);
      assertThat(hook.calls())
          .as("no call after the deactivation")
          .allMatch(c -> c.atMillis() < deactivatedAt + 200);
      assertThat(node.server().webhooks().sending(app.id())).isFalse();
    }
  }

  @Test
  void malformedSuccess_isAFailure_andTheCallIsRetried() throws Exception {
    TestNode node = node(Map.of());
    // Answers "200 OK" with a body cut short of its Content-Length, and records each call.
    List<String> deliveries = new CopyOnWriteArrayList<>();
    ServerSocket server = later(new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress()));
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) {
                  try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    String head = readHead(in);
                    int length = 0;
                    for (String line : head.split("\r\n")) {
                      String lower = line.toLowerCase(java.util.Locale.ROOT);
                      if (lower.startsWith("x-presence-delivery:")) {
                        deliveries.add(line.substring(line.indexOf(':') + 1).strip());
                      } else if (lower.startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring(line.indexOf(':') + 1).strip());
                      }
                    }
                    in.readNBytes(length); // the whole request is read: the close is clean
                    s.getOutputStream()
                        .write(
                            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"
                                .getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                    s.shutdownOutput();
                    Thread.sleep(100);
                  }
                }
              } catch (Exception e) {
                // closed
              }
            });
    t.setDaemon(true);
    t.start();
    App app = fx.activeApp(node, "Malformed");
    fx.webhook(app, "http://127.0.0.1:" + server.getLocalPort() + "/hook");
    String user = fx.email("user");
    fx.grant(node, user, app);
    try (DeviceTestClient d = device(node, user, "phone")) {
      status(d, PresenceStatus.ONLINE, null);
      await().atMost(WAIT).until(() -> deliveries.size() >= 2);
    }
    assertThat(deliveries.get(1))
        .as("the same updates again: the first call did not count")
        .isEqualTo(deliveries.get(0));
    // The portal's delivery log has the failed calls, newest first, with why and how long.
    await().atMost(WAIT).until(() -> node.server().webhooks().recentCalls(app.id()).size() >= 2);
    var logged = node.server().webhooks().recentCalls(app.id());
    assertThat(logged)
        .allSatisfy(
            c -> {
              assertThat(c.ok()).isFalse();
              assertThat(c.status()).isZero();
              assertThat(c.failure()).isEqualTo("not a valid HTTP answer");
              assertThat(c.users()).isEqualTo(1);
              assertThat(c.test()).isFalse();
              assertThat(c.latencyMillis()).isNotNegative();
            });
    assertThat(logged.get(0).at()).isAfterOrEqualTo(logged.get(1).at());
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      sb.append((char) c);
      if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
        break;
      }
    }
    return sb.toString();
  }
}
