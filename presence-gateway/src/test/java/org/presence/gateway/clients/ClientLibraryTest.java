package org.presence.gateway.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.client.AppClient;
import org.presence.client.Backoff;
import org.presence.client.DeviceClient;
import org.presence.client.PresenceException;
import org.presence.client.PresenceStatus;
import org.presence.client.WebhookVerifier;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebhookStub;
import org.presence.gateway.webhook.WebhookSignature;

/**
 * The Java client library ({@code presence-client}) against a real node started in this JVM:
 * devices (status, notifications, ack and dismiss, missed ones, slow-down, a node stopped and
 * started again under a connected client) and applications (snapshot then updates, {@code since}
 * across the restart, a stalled consumer catching up, the stream fallback, posting with 429, the
 * webhook signature).
 */
class ClientLibraryTest {
  private static final Backoff FAST = new Backoff(Duration.ofMillis(50), Duration.ofMillis(400));
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir static Path dataDir;
  private static DomainStub site;

  @BeforeAll
  static void startSite() {
    site = DomainStub.start();
  }

  @AfterAll
  static void stopSite() {
    site.close();
  }

  private static Map<String, String> settings(Path dir) {
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.offline-grace", "300ms");
    s.put("device.rate", "5000");
    s.put("device.burst", "5000");
    s.put("device.overdraft", "1000");
    s.put("device.handshake-rate", "0");
    s.put("updates.connect-rate", "100");
    s.put("updates.connect-burst", "100");
    s.put("webhooks.interval", "1s");
    return s;
  }

  /** Records what a device's listener is told. */
  static final class DeviceEvents implements DeviceClient.Listener {
    final List<String> sessions = new CopyOnWriteArrayList<>();
    final List<DeviceClient.Notification> notifications = new CopyOnWriteArrayList<>();
    final List<PresenceException> disconnects = new CopyOnWriteArrayList<>();

    @Override
    public void onConnected(String sessionId) {
      sessions.add(sessionId);
    }

    @Override
    public void onNotifications(List<DeviceClient.Notification> n) {
      notifications.addAll(n);
    }

    @Override
    public void onDisconnected(PresenceException cause, Duration retryIn) {
      disconnects.add(cause);
    }
  }

  /** Records what an application's listener is told. */
  static class AppEvents implements AppClient.Listener {
    final List<AppClient.Snapshot> snapshots = new CopyOnWriteArrayList<>();
    final List<AppClient.Update> updates = new CopyOnWriteArrayList<>();
    final List<AppClient.Receipt> receipts = new CopyOnWriteArrayList<>();
    final List<AppClient.Transport> transports = new CopyOnWriteArrayList<>();

    @Override
    public void onSnapshot(AppClient.Snapshot snapshot) {
      snapshots.add(snapshot);
    }

    @Override
    public void onUpdates(List<AppClient.Update> u) {
      updates.addAll(u);
    }

    @Override
    public void onReceipts(List<AppClient.Receipt> r) {
      receipts.addAll(r);
    }

    @Override
    public void onConnected(AppClient.Transport transport) {
      transports.add(transport);
    }

    List<String> messages() {
      return updates.stream().map(u -> u.status().wire() + ":" + u.message()).toList();
    }
  }

  private static DeviceClient device(TestNode node, String email, DeviceEvents events) {
    return DeviceClient.builder(node.uri(""))
        .token(() -> node.token(email))
        .device("laptop")
        .backoff(FAST)
        .listener(events)
        .start();
  }

  private static <T> T get(CompletableFuture<T> f) {
    try {
      return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void device_statusReachesTheApp_notificationsAreAckedAndDismissed_missedOnesFlagged()
      throws Exception {
    try (TestNode node = TestNode.start(settings(dataDir.resolve("basic")), r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Basic");
      String puid = NotifyFixture.grant(node, "alice@example.com", app.id());
      AppEvents appEvents = new AppEvents();
      DeviceEvents devEvents = new DeviceEvents();
      try (AppClient apps =
          AppClient.builder(node.uri(""), app.id(), app.key()).listener(appEvents).start()) {
        await().atMost(WAIT).until(() -> appEvents.snapshots.size() == 1);
        assertThat(appEvents.snapshots.get(0).users()).isEmpty();

        // A notification that expires before any device connects is delivered flagged missed.
        AppClient.PostResult early =
            get(
                apps.post(
                    List.of(
                        new AppClient.Notification(
                            puid, "Too late", "https://example.com/late", 5, true))));
        assertThat(early.result()).isEqualTo("OK");
        Thread.sleep(5_200);

        try (DeviceClient dev = device(node, "alice@example.com", devEvents)) {
          get(dev.status(PresenceStatus.ONLINE, "At my desk"));
          await()
              .atMost(WAIT)
              .untilAsserted(
                  () -> assertThat(appEvents.messages()).containsExactly("online:At my desk"));
          assertThat(get(apps.users()))
              .containsExactly(new AppClient.Presence(puid, PresenceStatus.ONLINE, "At my desk"));

          await().atMost(WAIT).until(() -> devEvents.notifications.size() == 1);
          DeviceClient.Notification missed = devEvents.notifications.get(0);
          assertThat(missed.missed()).isTrue();
          assertThat(missed.message()).isEqualTo("Too late");
          assertThat(missed.source()).isEqualTo("Basic");

          AppClient.PostResult posted =
              get(
                  apps.post(
                      List.of(
                          new AppClient.Notification(
                              puid, "Join #ale", "https://example.com/ale", 60, true),
                          new AppClient.Notification(
                              puid, "Last call", "https://example.com/last", 60, true),
                          new AppClient.Notification(
                              "no-such-puid", "Nobody", "https://example.com/x"))));
          assertThat(posted.result()).isEqualTo("PARTIAL");
          assertThat(posted.results()).hasSize(3);
          assertThat(posted.results().get(0).ok()).isTrue();
          assertThat(posted.results().get(2).errno()).isEqualTo(151);
          String ale = posted.results().get(0).id();
          String last = posted.results().get(1).id();

          await().atMost(WAIT).until(() -> devEvents.notifications.size() == 3);
          assertThat(devEvents.notifications.subList(1, 3))
              .extracting(DeviceClient.Notification::id, DeviceClient.Notification::missed)
              .containsExactly(
                  org.assertj.core.groups.Tuple.tuple(ale, false),
                  org.assertj.core.groups.Tuple.tuple(last, false));
          get(dev.acknowledge(List.of(ale)));
          get(dev.dismiss(List.of(last)));
          // An id the node never delivered: errno 173, the session kept.
          assertThat(dev.dismiss(List.of("unknown-id")))
              .failsWithin(WAIT)
              .withThrowableOfType(ExecutionException.class)
              .havingCause()
              .isInstanceOf(PresenceException.class)
              .matches(e -> ((PresenceException) e).errno() == 173);

          await()
              .atMost(WAIT)
              .untilAsserted(
                  () ->
                      assertThat(
                              appEvents.receipts.stream()
                                  .map(r -> r.id() + ":" + r.state())
                                  .toList())
                          .contains(
                              early.results().get(0).id() + ":missed",
                              ale + ":delivered",
                              ale + ":acted",
                              last + ":delivered",
                              last + ":dismissed"));
          assertThat(devEvents.sessions).hasSize(1);
        }
      }
    }
  }

  @Test
  void slowDown_isHonoured_everyStatusIsAcceptedWithoutLosingTheSession() {
    Map<String, String> s = settings(dataDir.resolve("slow"));
    s.put("device.rate", "5");
    s.put("device.burst", "2");
    s.put("device.overdraft", "20");
    try (TestNode node = TestNode.start(s, r -> {})) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri(""))
              .token(() -> node.token("slow@example.com"))
              .device("phone")
              .backoff(FAST)
              .slowDownBackoff(new Backoff(Duration.ofMillis(300), Duration.ofSeconds(1)))
              .listener(events)
              .start()) {
        // One after another (statuses queued together are merged into the latest). Beyond the
        // burst the node answers 40; the client waits and sends each again.
        for (int i = 0; i < 6; i++) {
          get(dev.status(i % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.AWAY, "m" + i));
        }
        assertThat(events.sessions).hasSize(1);
        assertThat(events.disconnects).isEmpty();
        // The node did refuse some with 40 on the way.
        String metrics = node.adminGet("/metrics").body();
        java.util.regex.Matcher m =
            java.util.regex.Pattern.compile(
                    "(?m)^presence_errors_total\\{[^}]*errno=\"40\"[^}]*\\} ([0-9.]+)")
                .matcher(metrics);
        assertThat(m.find()).as(metrics).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isPositive();
      }
    }
  }

  @Test
  void nodeStoppedAndStartedAgain_clientsReconnect_newSession_nothingLost() throws Exception {
    Path dir = dataDir.resolve("restart");
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Map<String, String> s = settings(dir);
    s.put("gateway.port", Integer.toString(port));
    TestNode node = TestNode.start(s, r -> {});
    TestNode again = null;
    try {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Restart");
      String puid = NotifyFixture.grant(node, "bob@example.com", app.id());
      DeviceEvents devEvents = new DeviceEvents();
      AppEvents appEvents = new AppEvents();
      URI uri = node.uri("");
      TestNode first = node;
      try (DeviceClient dev =
              DeviceClient.builder(uri)
                  .token(() -> first.token("bob@example.com"))
                  .device("desk")
                  .backoff(FAST)
                  .listener(devEvents)
                  .start();
          AppClient apps =
              AppClient.builder(uri, app.id(), app.key())
                  .backoff(FAST)
                  .listener(appEvents)
                  .start()) {
        await().atMost(WAIT).until(() -> appEvents.snapshots.size() == 1);
        get(dev.status(PresenceStatus.AWAY, "lunch"));
        await()
            .atMost(WAIT)
            .untilAsserted(() -> assertThat(appEvents.messages()).containsExactly("away:lunch"));
        long before = apps.since();
        assertThat(before).isEqualTo(appEvents.updates.get(0).seq());

        node.close();
        await().atMost(WAIT).until(() -> !devEvents.disconnects.isEmpty());
        assertThat(devEvents.disconnects.get(0).errno()).isEqualTo(-3);

        again = TestNode.start(s, r -> {});
        // The device opens a new session by itself and shows its status again; the application
        // resumes from its cursor (the embedded log starts afresh: a fresh snapshot).
        await().atMost(WAIT).until(() -> devEvents.sessions.size() == 2);
        assertThat(devEvents.sessions.get(1)).isNotEqualTo(devEvents.sessions.get(0));
        // The restarted node no longer has the updates after the cursor: a fresh snapshot.
        await().atMost(WAIT).until(() -> appEvents.snapshots.size() == 2);
        assertThat(appEvents.snapshots.get(1).fresh()).isTrue();
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(get(apps.users()))
                        .containsExactly(
                            new AppClient.Presence(puid, PresenceStatus.AWAY, "lunch")));
        assertThat(apps.since()).isGreaterThan(before);
        assertThat(appEvents.snapshots.get(0).fresh()).isFalse();
        assertThat(appEvents.transports).hasSizeGreaterThanOrEqualTo(2);

        // Both channels work on the new node: a change and a notification.
        get(dev.status(PresenceStatus.ONLINE, "back"));
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(get(apps.users()))
                        .containsExactly(
                            new AppClient.Presence(puid, PresenceStatus.ONLINE, "back")));
        AppClient.PostResult r =
            get(
                apps.post(
                    List.of(new AppClient.Notification(puid, "Hi again", "https://example.com"))));
        assertThat(r.result()).isEqualTo("OK");
        await()
            .atMost(WAIT)
            .until(
                () ->
                    devEvents.notifications.stream().anyMatch(n -> n.message().equals("Hi again")));

        // An application that stops and comes back with its persisted cursor gets exactly what
        // it missed meanwhile, without a snapshot.
        long saved = apps.since();
        apps.close();
        get(dev.status(PresenceStatus.AWAY, "brb"));
        AppEvents resumed = new AppEvents();
        try (AppClient back =
            AppClient.builder(uri, app.id(), app.key()).since(saved).listener(resumed).start()) {
          await()
              .atMost(WAIT)
              .untilAsserted(() -> assertThat(resumed.messages()).containsExactly("away:brb"));
          assertThat(resumed.snapshots).isEmpty();
          assertThat(resumed.updates.get(0).seq()).isGreaterThan(saved);
          assertThat(back.since()).isEqualTo(resumed.updates.get(0).seq());
        }
      }
    } finally {
      node.close();
      if (again != null) {
        again.close();
      }
    }
  }

  @Test
  void presenceDeviceCommand_reconnectsAfterTheNodeRestarts_andShowsItsStatusAgain()
      throws Exception {
    Path dir = dataDir.resolve("cli");
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Map<String, String> s = settings(dir);
    s.put("gateway.port", Integer.toString(port));
    TestNode node = TestNode.start(s, r -> {});
    TestNode again = null;
    java.io.PipedOutputStream typed = new java.io.PipedOutputStream();
    java.io.PipedInputStream in = new java.io.PipedInputStream(typed);
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    try {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Cli");
      String puid = NotifyFixture.grant(node, "gus@example.com", app.id());
      String url = node.uri("").toString();
      CompletableFuture<Integer> cli =
          CompletableFuture.supplyAsync(
              () ->
                  org.presence.gateway.cli.PresenceCli.run(
                      new String[] {
                        "device",
                        "--email",
                        "gus@example.com",
                        "--url",
                        url,
                        "--data-dir",
                        dir.toString()
                      },
                      Map.of(),
                      in,
                      new java.io.PrintWriter(out, true),
                      new java.io.PrintWriter(err, true)));
      await().atMost(WAIT).until(() -> out.toString().contains("connected to"));
      typed.write("away lunch\n".getBytes(StandardCharsets.UTF_8));
      typed.flush();
      await().atMost(WAIT).until(() -> out.toString().contains("\nok"));

      node.close();
      await().atMost(WAIT).until(() -> out.toString().contains("connection lost"));
      again = TestNode.start(s, r -> {});
      await().atMost(WAIT).until(() -> out.toString().contains("reconnected (session"));
      // The new session showed the last status again, unasked.
      AppEvents events = new AppEvents();
      try (AppClient apps =
          AppClient.builder(again.uri(""), app.id(), app.key()).listener(events).start()) {
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(get(apps.users()))
                        .containsExactly(
                            new AppClient.Presence(puid, PresenceStatus.AWAY, "lunch")));
      }
      typed.write("online back\n".getBytes(StandardCharsets.UTF_8));
      typed.close();
      assertThat(cli.get(30, TimeUnit.SECONDS)).as(out + "\n" + err).isZero();
      assertThat(out.toString()).contains("disconnected");
      assertThat(out.toString().split("\nok", -1)).as(out.toString()).hasSizeGreaterThan(2);
    } finally {
      typed.close();
      node.close();
      if (again != null) {
        again.close();
      }
    }
  }

  @Test
  void aStalledApplication_catchesUpInOrder_whenItReadsAgain() throws Exception {
    Map<String, String> s = settings(dataDir.resolve("stall"));
    s.put("updates.socket-send-buffer", "8k");
    s.put("gateway.unwritable-timeout", "2s");
    try (TestNode node = TestNode.start(s, r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Stall");
      NotifyFixture.grant(node, "carol@example.com", app.id());
      CountDownLatch release = new CountDownLatch(1);
      AppEvents events =
          new AppEvents() {
            @Override
            public void onUpdates(List<AppClient.Update> u) {
              super.onUpdates(u);
              try {
                // The first batch stalls the consumer: nothing more is read meanwhile.
                release.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          };
      int n = 800;
      String pad = "x".repeat(130);
      try (AppClient apps =
              AppClient.builder(node.uri(""), app.id(), app.key())
                  .backoff(FAST)
                  .listener(events)
                  .start();
          DeviceClient dev = device(node, "carol@example.com", new DeviceEvents())) {
        await().atMost(WAIT).until(() -> events.snapshots.size() == 1);
        // One after another: statuses queued together would be merged into the latest.
        for (int i = 0; i < n; i++) {
          get(dev.status(PresenceStatus.ONLINE, i + pad));
        }
        // Everything was sent and recorded while the application read (almost) nothing.
        assertThat(events.updates.size()).isLessThan(n);
        release.countDown();
        String lastMessage = "online:" + (n - 1) + pad;
        await().atMost(Duration.ofSeconds(60)).until(() -> events.messages().contains(lastMessage));
        // Caught up from the node's buffer or log (after a reconnect with the cursor, if the node
        // closed the stalled socket): every update, in order, once, without a fresh snapshot.
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          expected.add("online:" + i + pad);
        }
        assertThat(events.snapshots).hasSize(1);
        assertThat(events.messages()).containsExactlyElementsOf(expected);
        assertThat(get(apps.users()))
            .extracting(AppClient.Presence::message)
            .containsExactly((n - 1) + pad);
        long[] seqs = events.updates.stream().mapToLong(AppClient.Update::seq).toArray();
        for (int i = 1; i < seqs.length; i++) {
          assertThat(seqs[i]).isGreaterThan(seqs[i - 1]);
        }
        assertThat(apps.since()).isEqualTo(seqs[seqs.length - 1]);
      }
    }
  }

  @Test
  void whenTheWebSocketCannotBeOpened_theClientFallsBackToTheStream() throws Exception {
    try (TestNode node = TestNode.start(settings(dataDir.resolve("fallback")), r -> {});
        UpgradeRefusingProxy proxy = UpgradeRefusingProxy.start(node.port())) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Fallback");
      String puid = NotifyFixture.grant(node, "dan@example.com", app.id());
      AppEvents events = new AppEvents();
      try (AppClient apps =
              AppClient.builder(proxy.uri(), app.id(), app.key())
                  .backoff(FAST)
                  .listener(events)
                  .start();
          DeviceClient dev = device(node, "dan@example.com", new DeviceEvents())) {
        await().atMost(WAIT).until(() -> events.snapshots.size() == 1);
        assertThat(events.transports).containsExactly(AppClient.Transport.STREAM);
        assertThat(proxy.refusedUpgrades()).isEqualTo(1);
        get(dev.status(PresenceStatus.UNAVAILABLE, "driving"));
        await()
            .atMost(WAIT)
            .untilAsserted(
                () -> assertThat(events.messages()).containsExactly("unavailable:driving"));
        assertThat(events.updates.get(0).uid()).isEqualTo(puid);
        assertThat(apps.since()).isEqualTo(events.updates.get(0).seq());
      }
    }
  }

  @Test
  void posting_overTheRateLimit_isSentAgainAfterRetryAfter() {
    Map<String, String> s = settings(dataDir.resolve("rate"));
    s.put("notifications.rate", "1");
    s.put("notifications.burst", "2");
    try (TestNode node = TestNode.start(s, r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Rate");
      String puid = NotifyFixture.grant(node, "erin@example.com", app.id());
      List<AppClient.Notification> items = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        items.add(new AppClient.Notification(puid, "n" + i, "https://example.com/" + i));
      }
      try (AppClient eager =
              AppClient.builder(node.uri(""), app.id(), app.key())
                  .updates(false)
                  .rateLimitRetries(5)
                  .start();
          AppClient giveUp =
              AppClient.builder(node.uri(""), app.id(), app.key())
                  .updates(false)
                  .rateLimitRetries(0)
                  .start()) {
        // Two fit the bucket, the third is refused with 172 and sent again after Retry-After.
        AppClient.PostResult r = get(eager.post(items));
        assertThat(r.result()).isEqualTo("OK");
        assertThat(r.results()).allMatch(AppClient.ItemResult::ok);
        // Without retries, an empty bucket refuses the whole request: 429, errno 172.
        assertThat(giveUp.post(items.subList(0, 1)))
            .failsWithin(WAIT)
            .withThrowableOfType(ExecutionException.class)
            .havingCause()
            .isInstanceOf(PresenceException.class)
            .matches(
                e ->
                    ((PresenceException) e).errno() == 172
                        && ((PresenceException) e).httpStatus() == 429);
      }
    }
  }

  @Test
  void webhookVerifier_acceptsTheNodesRealSignature_andRefusesATamperedBody() {
    try (TestNode node = TestNode.start(settings(dataDir.resolve("hook")), r -> {});
        WebhookStub hook = WebhookStub.start()) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Hook");
      NotifyFixture.grant(node, "fay@example.com", app.id());
      String secret =
          NotifyFixture.json(
                  ApiClient.forEmail(node, "dev@example.com")
                      .put(
                          "/api/apps/" + app.id() + "/webhook",
                          "{\"url\":\"" + hook.url("/hook") + "\"}"))
              .get("webhook_secret")
              .asText();
      try (DeviceClient dev = device(node, "fay@example.com", new DeviceEvents())) {
        get(dev.status(PresenceStatus.ONLINE, null));
        await().atMost(WAIT).until(() -> !hook.calls().isEmpty());
      }
      WebhookStub.Call call = hook.calls().get(0);
      WebhookVerifier verifier = new WebhookVerifier(secret);
      String signature = call.header(WebhookVerifier.SIGNATURE_HEADER);
      String delivery = call.header(WebhookVerifier.DELIVERY_HEADER);
      assertThat(call.header(WebhookVerifier.SNAPSHOT_HEADER)).isNull();
      assertThat(verifier.verify(call.body(), signature, delivery)).isTrue();
      assertThat(signature).isEqualTo(WebhookSignature.sign(secret, delivery, call.body()));
      byte[] tampered = call.text().replace("online", "away").getBytes(StandardCharsets.UTF_8);
      assertThat(verifier.verify(tampered, signature, delivery)).isFalse();
      assertThat(new WebhookVerifier("another-secret").verify(call.body(), signature, delivery))
          .isFalse();
      assertThat(verifier.verify(call.body(), null, delivery)).isFalse();
      assertThat(verifier.verify(call.body(), signature, app.id() + ":1-999999999999999999"))
          .isFalse();
      assertThat(WebhookVerifier.changes(call.body()))
          .extracting(WebhookVerifier.Change::status)
          .containsExactly(PresenceStatus.ONLINE);
      WebhookVerifier.Delivery d =
          WebhookVerifier.Delivery.parse(call.header(WebhookVerifier.DELIVERY_HEADER));
      assertThat(d.appId()).isEqualTo(app.id());
      assertThat(d.isNewerThan(d.lastSeq())).isFalse();
      assertThat(d.isNewerThan(d.firstSeq() - 1)).isTrue();
    }
  }
}
