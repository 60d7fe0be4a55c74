package org.presence.gateway.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.client.AppClient;
import org.presence.client.Backoff;
import org.presence.client.PresenceStatus;
import org.presence.daemon.LogindIdle;
import org.presence.daemon.Policy;
import org.presence.daemon.PresenceDaemon;
import org.presence.daemon.XdgState;
import org.presence.gateway.cli.PresenceCli;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.store.testing.Backends;

/**
 * The desktop daemon ({@code presence-daemon}) with real parts: a node started in this JVM, a
 * private {@code dbus-daemon} with a notification server and a logind stand-in on it ({@link
 * FakeDesktop}), and an application reading the update channel ({@link AppClient}).
 */
class DaemonTest {
  private static final Backoff FAST = new Backoff(Duration.ofMillis(50), Duration.ofMillis(400));
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private static DomainStub site;
  private TestBus bus;
  private FakeDesktop desktop;
  private DBusConnection daemonBus;

  @BeforeAll
  static void startSite() {
    site = DomainStub.start();
  }

  @AfterAll
  static void stopSite() {
    site.close();
  }

  @BeforeEach
  void startBus() throws Exception {
    if (!TestBus.available()) {
      String message =
          "dbus-daemon is not installed (Debian: apt-get install dbus; bin/test-all installs it):"
              + " the desktop daemon's tests did not run";
      if (System.getenv(Backends.REQUIRE) != null) {
        fail(message);
      }
      Assumptions.assumeTrue(false, message);
    }
    bus = TestBus.start(dir);
    desktop = new FakeDesktop(bus.address());
    daemonBus = DBusConnectionBuilder.forAddress(bus.address()).withShared(false).build();
  }

  @AfterEach
  void stopBus() throws Exception {
    if (daemonBus != null) {
      daemonBus.disconnect();
    }
    if (desktop != null) {
      desktop.close();
    }
    if (bus != null) {
      bus.close();
    }
  }

  private Map<String, String> settings() {
    Map<String, String> s = TestNode.baseSettings(dir.resolve("node"));
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.offline-grace", "300ms");
    s.put("device.handshake-rate", "0");
    return s;
  }

  private static void putSettings(TestNode node, String email, String json) {
    var r =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/api/settings"))
                .header("Authorization", "Bearer " + node.token(email))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json))
                .build());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  /** What the daemon reports sending. */
  static final class Sent implements PresenceDaemon.Events {
    final List<PresenceStatus> statuses = new CopyOnWriteArrayList<>();
    final List<String> sessions = new CopyOnWriteArrayList<>();
    final List<Policy> policies = new CopyOnWriteArrayList<>();

    @Override
    public void connected(String sessionId) {
      sessions.add(sessionId);
    }

    @Override
    public void policy(Policy policy) {
      policies.add(policy);
    }

    @Override
    public void statusSent(PresenceStatus status, Duration idle) {
      statuses.add(status);
    }
  }

  /**
   * An application on the update channel once its snapshot came: a status the daemon sends after
   * that reaches it as an update. A status stored before the application subscribed is in its
   * snapshot and never comes as an update (docs/app-updates.md), so a daemon started together with
   * the application could send its first status too early for the update a test waits for.
   */
  private static AppClient subscribed(
      TestNode node, NotifyFixture.App app, ClientLibraryTest.AppEvents events) {
    AppClient apps = AppClient.builder(node.uri(""), app.id(), app.key()).listener(events).start();
    try {
      await().atMost(WAIT).until(() -> events.snapshots.size() == 1);
    } catch (RuntimeException | Error e) {
      apps.close();
      throw e;
    }
    return apps;
  }

  private PresenceDaemon daemon(TestNode node, String email, Sent sent, List<String> opened) {
    LogindIdle logind = new LogindIdle(daemonBus, "auto", () -> System.currentTimeMillis() * 1000);
    return PresenceDaemon.builder(node.uri(""))
        .tokens(() -> node.token(email))
        .device("desktop-test")
        .idle(logind)
        .sleepNotices(logind)
        .networkNotices(daemonBus)
        .notifications(daemonBus)
        .opener(opened::add)
        .events(sent)
        .poll(Duration.ofMillis(100))
        .backoff(FAST)
        .start();
  }

  @Test
  void idleUnderThePolicy_givesOnlineAwayOffline_withTheUsersMessages_onlyOnRealChanges()
      throws Exception {
    try (TestNode node = TestNode.start(settings(), r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Policy");
      NotifyFixture.grant(node, "alice@example.com", app.id());
      putSettings(
          node,
          "alice@example.com",
          "{\"online_within_minutes\":5,\"away_after_minutes\":10,\"offline_after_minutes\":25,"
              + "\"custom_status\":\"At my desk\",\"away_message\":\"Back soon\"}");
      ClientLibraryTest.AppEvents appEvents = new ClientLibraryTest.AppEvents();
      Sent sent = new Sent();
      try (AppClient apps = subscribed(node, app, appEvents);
          PresenceDaemon daemon = daemon(node, "alice@example.com", sent, List.of())) {
        // Active (the desktop set no hint yet): online, with the user's custom status.
        await()
            .atMost(WAIT)
            .untilAsserted(
                () -> assertThat(appEvents.messages()).containsExactly("online:At my desk"));
        assertThat(sent.policies.get(0))
            .isEqualTo(new Policy(5, 10, 25, "At my desk", "Back soon"));

        desktop.idleFor(3); // within "online within 5": still online, nothing sent
        Thread.sleep(500);
        desktop.idleFor(11);
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(appEvents.messages())
                        .containsExactly("online:At my desk", "away:Back soon"));
        desktop.idleFor(26);
        await()
            .atMost(WAIT)
            .untilAsserted(
                () -> assertThat(appEvents.messages()).endsWith("away:Back soon", "offline:null"));
        desktop.active();
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(appEvents.messages()).endsWith("offline:null", "online:At my desk"));

        // The policy changes on the settings page: the daemon follows the settings frame.
        desktop.idleFor(12);
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(appEvents.messages())
                        .endsWith("online:At my desk", "away:Back soon"));
        putSettings(
            node,
            "alice@example.com",
            "{\"online_within_minutes\":15,\"away_after_minutes\":20,\"offline_after_minutes\":35}");
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(appEvents.messages())
                        .endsWith("away:Back soon", "online:At my desk"));
        assertThat(sent.policies)
            .last()
            .isEqualTo(new Policy(15, 20, 35, "At my desk", "Back soon"));

        // Dozens of polls, one status per real change.
        assertThat(sent.statuses)
            .containsExactly(
                PresenceStatus.ONLINE,
                PresenceStatus.AWAY,
                PresenceStatus.OFFLINE,
                PresenceStatus.ONLINE,
                PresenceStatus.AWAY,
                PresenceStatus.ONLINE);
        assertThat(sent.sessions).hasSize(1);

        // Waking from sleep: a new session at once, the status shown again, no offline between.
        desktop.prepareForSleep(true);
        desktop.prepareForSleep(false);
        await().atMost(WAIT).until(() -> sent.sessions.size() == 2);
        // The network is back: likewise (other states are not a reason to reconnect).
        desktop.networkState(20);
        desktop.networkState(70);
        await().atMost(WAIT).until(() -> sent.sessions.size() == 3);
        Thread.sleep(1_000); // past the node's offline grace
        assertThat(sent.sessions).hasSize(3);
        assertThat(appEvents.messages()).last().isEqualTo("online:At my desk");
      }
    }
  }

  @Test
  void notifications_showOnTheDesktop_acceptAndDismissAnswerThem_missedOnesShowAsMissed()
      throws Exception {
    try (TestNode node = TestNode.start(settings(), r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Tavern");
      String puid = NotifyFixture.grant(node, "bob@example.com", app.id());
      ClientLibraryTest.AppEvents appEvents = new ClientLibraryTest.AppEvents();
      Sent sent = new Sent();
      List<String> opened = new CopyOnWriteArrayList<>();
      try (AppClient apps = subscribed(node, app, appEvents)) {
        // Expires before the daemon connects: delivered, and shown, as missed.
        String late = post(apps, puid, "Too late", "https://example.com/late", 5);
        Thread.sleep(5_200);
        try (PresenceDaemon daemon = daemon(node, "bob@example.com", sent, opened)) {
          await().atMost(WAIT).until(() -> desktop.shown.size() == 1);
          FakeDesktop.Shown missed = desktop.shown.get(0);
          assertThat(missed.summary()).isEqualTo("Missed: Tavern");
          assertThat(missed.body()).isEqualTo("Too late");
          assertThat(missed.actions()).isEmpty();

          String ale = post(apps, puid, "Join #ale <now> & then", "https://example.com/ale", 60);
          await().atMost(WAIT).until(() -> desktop.shown.size() == 2);
          FakeDesktop.Shown live = desktop.shown.get(1);
          assertThat(live.appName()).isEqualTo("Presence");
          assertThat(live.summary()).isEqualTo("Tavern");
          assertThat(live.body()).isEqualTo("Join #ale &lt;now&gt; &amp; then");
          assertThat(live.actions()).containsSubsequence("accept", "Accept", "dismiss", "Dismiss");
          assertThat(live.timeout()).isBetween(1, 60_000);
          desktop.invoke(live.id(), "accept");

          String last = post(apps, puid, "Last call", "https://example.com/last", 60);
          await().atMost(WAIT).until(() -> desktop.shown.size() == 3);
          desktop.invoke(desktop.shown.get(2).id(), "dismiss");

          String closed = post(apps, puid, "Closed", "https://example.com/closed", 60);
          await().atMost(WAIT).until(() -> desktop.shown.size() == 4);
          desktop.closeByUser(desktop.shown.get(3).id());

          await()
              .atMost(WAIT)
              .untilAsserted(
                  () ->
                      assertThat(
                              appEvents.receipts.stream()
                                  .map(r -> r.id() + ":" + r.state())
                                  .toList())
                          .contains(
                              late + ":missed",
                              ale + ":acted",
                              last + ":dismissed",
                              closed + ":dismissed"));
          // Accept acted once (its close afterwards did not dismiss it too) and opened the link.
          assertThat(
                  appEvents.receipts.stream().filter(r -> r.id().equals(ale)).map(r -> r.state()))
              .containsExactlyInAnyOrder("delivered", "acted");
          assertThat(opened).containsExactly("https://example.com/ale");
        }
      }
    }
  }

  @Test
  void aSlowNotificationService_delaysOnlyNotifications_aPolicyChangeStillAppliesAtOnce()
      throws Exception {
    try (TestNode node = TestNode.start(settings(), r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Slow");
      String puid = NotifyFixture.grant(node, "erin@example.com", app.id());
      putSettings(
          node,
          "erin@example.com",
          "{\"online_within_minutes\":5,\"away_after_minutes\":10,\"offline_after_minutes\":25}");
      ClientLibraryTest.AppEvents appEvents = new ClientLibraryTest.AppEvents();
      Sent sent = new Sent();
      List<String> opened = new CopyOnWriteArrayList<>();
      desktop.idleFor(12);
      try (AppClient apps = subscribed(node, app, appEvents);
          PresenceDaemon daemon = daemon(node, "erin@example.com", sent, opened)) {
        await()
            .atMost(WAIT)
            .untilAsserted(() -> assertThat(appEvents.messages()).containsExactly("away:null"));
        // The notification service shows each notification but answers its Notify only when the
        // test lets it: slower than any bound.
        desktop.holdNotify();
        String one = post(apps, puid, "One", "https://example.com/1", 120);
        String two = post(apps, puid, "Two", "https://example.com/2", 120);
        String three = post(apps, puid, "Three", "https://example.com/3", 120);
        await().atMost(WAIT).until(() -> desktop.shown.size() == 1);

        // The policy changes meanwhile: applied (and the status it gives sent) while the service
        // still holds the first Notify, the others waiting behind it.
        putSettings(
            node,
            "erin@example.com",
            "{\"online_within_minutes\":15,\"away_after_minutes\":20,\"offline_after_minutes\":35}");
        await()
            .atMost(WAIT)
            .untilAsserted(
                () -> assertThat(appEvents.messages()).containsExactly("away:null", "online:null"));
        assertThat(sent.policies).last().isEqualTo(new Policy(15, 20, 35, "", ""));
        assertThat(desktop.shown).hasSize(1);

        // The user accepts the first, on the screen, before the service answered its Notify: the
        // daemon applies the answer once the Notify answer names that notification.
        desktop.invoke(desktop.shown.get(0).id(), "accept");
        desktop.answerNotify();

        // The others come after all, in order, and can be answered as soon as they are shown.
        await().atMost(WAIT).until(() -> desktop.shown.size() == 3);
        assertThat(desktop.shown.stream().map(FakeDesktop.Shown::body))
            .containsExactly("One", "Two", "Three");
        desktop.invoke(desktop.shown.get(2).id(), "accept");
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(appEvents.receipts.stream().map(r -> r.id() + ":" + r.state()))
                        .contains(one + ":acted", two + ":delivered", three + ":acted"));
        // Accept acted once each (the close that follows it did not dismiss it too).
        assertThat(
                appEvents.receipts.stream()
                    .filter(r -> r.id().equals(one) || r.id().equals(three))
                    .map(r -> r.state()))
            .containsExactlyInAnyOrder("delivered", "acted", "delivered", "acted");
        assertThat(opened).containsExactly("https://example.com/1", "https://example.com/3");
      }
    }
  }

  private static String post(AppClient apps, String puid, String message, String link, int ttl)
      throws Exception {
    AppClient.PostResult r =
        apps.post(List.of(new AppClient.Notification(puid, message, link, ttl, true)))
            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(r.result()).isEqualTo("OK");
    return r.results().get(0).id();
  }

  @Test
  void presenceDaemonCommand_fromItsEnvironment_tokenFileAndBuses_untilStopped() throws Exception {
    try (TestNode node = TestNode.start(settings(), r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Cli");
      String puid = NotifyFixture.grant(node, "carol@example.com", app.id());
      putSettings(node, "carol@example.com", "{\"away_message\":\"Brb\"}");
      Path token = dir.resolve("config/presence/token");
      Files.createDirectories(token.getParent());
      Files.writeString(token, node.token("carol@example.com") + "\n");
      Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
      Map<String, String> env =
          Map.of(
              "HOME", dir.resolve("home").toString(),
              "XDG_STATE_HOME", dir.resolve("state").toString(),
              "XDG_CONFIG_HOME", dir.resolve("config").toString(),
              "DBUS_SESSION_BUS_ADDRESS", bus.address(),
              "DBUS_SYSTEM_BUS_ADDRESS", bus.address());
      // The node's address from the configuration file, the token file from the option.
      Files.writeString(
          dir.resolve("config/presence/daemon.properties"), "url=" + node.uri("") + "\n");
      ClientLibraryTest.AppEvents appEvents = new ClientLibraryTest.AppEvents();
      StringWriter out = new StringWriter();
      CompletableFuture<Integer> exit = new CompletableFuture<>();
      Thread cli =
          new Thread(
              () ->
                  exit.complete(
                      PresenceCli.run(
                          new String[] {"daemon", "--token-file", token.toString(), "--poll", "1"},
                          env,
                          new PrintWriter(out),
                          new PrintWriter(out))),
              "daemon-cli");
      try (AppClient apps = subscribed(node, app, appEvents)) {
        cli.start();
        await()
            .atMost(WAIT)
            .untilAsserted(() -> assertThat(appEvents.messages()).containsExactly("online:null"));
        desktop.idleFor(11);
        await()
            .atMost(WAIT)
            .untilAsserted(() -> assertThat(appEvents.messages()).endsWith("away:Brb"));
        String id = post(apps, puid, "Ping", "app://cli/ping", 60);
        await().atMost(WAIT).until(() -> desktop.shown.size() == 1);
        desktop.invoke(desktop.shown.get(0).id(), "accept");
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(appEvents.receipts.stream().map(r -> r.id() + ":" + r.state()))
                        .contains(id + ":acted"));
        Path deviceId = dir.resolve("state/presence/device-id");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(deviceId)))
            .isEqualTo("rw-------");
        assertThat(out.toString())
            .contains("presence daemon: device " + Files.readString(deviceId).strip());

        // Stopped (as by SIGTERM): the command ends, the application sees the device offline.
        cli.interrupt();
        assertThat(exit.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isZero();
        await()
            .atMost(Duration.ofSeconds(5))
            .untilAsserted(
                () -> assertThat(appEvents.messages()).endsWith("away:Brb", "offline:null"));
      } finally {
        cli.interrupt();
        cli.join(WAIT.toMillis());
      }
    }
  }

  @Test
  void presenceDaemonCommand_withoutATokenFile_pairs_andKeepsItsRefreshTokenInTheXdgState()
      throws Exception {
    Map<String, String> s = settings();
    s.put("pairing.poll-interval", "1s");
    try (TestNode node = TestNode.start(s, r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "Pairing");
      NotifyFixture.grant(node, "dana@example.com", app.id());
      Map<String, String> env =
          Map.of(
              "HOME", dir.resolve("home").toString(),
              "DBUS_SESSION_BUS_ADDRESS", bus.address(),
              "DBUS_SYSTEM_BUS_ADDRESS", bus.address());
      ClientLibraryTest.AppEvents appEvents = new ClientLibraryTest.AppEvents();
      StringWriter out = new StringWriter();
      CompletableFuture<Integer> exit = new CompletableFuture<>();
      Thread cli =
          new Thread(
              () ->
                  exit.complete(
                      PresenceCli.run(
                          new String[] {"daemon", "--url", node.uri("").toString()},
                          env,
                          new PrintWriter(out),
                          new PrintWriter(out))),
              "daemon-cli");
      try (AppClient apps = subscribed(node, app, appEvents)) {
        cli.start();
        java.util.regex.Pattern code = java.util.regex.Pattern.compile("enter the code (\\S+)");
        await().atMost(WAIT).until(() -> code.matcher(out.toString()).find());
        java.util.regex.Matcher m = code.matcher(out.toString());
        assertThat(m.find()).isTrue();
        WebClient web = new WebClient(node).signIn("dana@example.com");
        web.get("/pair");
        // Approved: the page answers with a redirect to its outcome (POST-redirect-GET).
        assertThat(
                web.post("/pair", Map.of("code", m.group(1), "name", "desk", "action", "approve"))
                    .statusCode())
            .isEqualTo(303);
        await()
            .atMost(WAIT)
            .untilAsserted(() -> assertThat(appEvents.messages()).containsExactly("online:null"));
        // Without XDG_* set, the state goes to ~/.local/state/presence, owner only.
        Path state = dir.resolve("home/.local/state/presence");
        for (String file : List.of("paired-device.token", "device-id")) {
          assertThat(
                  PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(file))))
              .as(file)
              .isEqualTo("rw-------");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
            .isEqualTo("rwx------");

        // The user revokes the device: its session ends with -12 and the daemon stops (exit 1,
        // saying to pair again) instead of reconnecting; started again, it pairs at start.
        HttpResponse<String> revoked = web.post("/pair/devices/all/revoke", Map.of());
        assertThat(revoked.statusCode()).isEqualTo(303);
        assertThat(revoked.headers().firstValue("Location")).hasValue("/pair?done=revoked-all");
        assertThat(web.get("/pair?done=revoked-all").body())
            .contains("Revoked all your paired devices");
        assertThat(exit.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as(out.toString()).isEqualTo(1);
        assertThat(out.toString()).contains("pairing was revoked");
      } finally {
        cli.interrupt();
        cli.join(WAIT.toMillis());
      }
    }
  }

  @Test
  void state_landsUnderTheXdgDirectories_ownerOnly() throws Exception {
    Map<String, String> env =
        Map.of(
            "HOME", dir.resolve("home").toString(),
            "XDG_STATE_HOME", dir.resolve("state").toString());
    XdgState xdg = XdgState.of(env);
    assertThat(xdg.stateDir()).isEqualTo(dir.resolve("state/presence"));
    assertThat(xdg.configDir()).isEqualTo(dir.resolve("home/.config/presence"));
    xdg.createStateDir();
    String id = xdg.deviceId();
    assertThat(id).matches("desktop-[0-9a-f]{12}");
    assertThat(xdg.deviceId()).isEqualTo(id);
    Path file = dir.resolve("state/presence/device-id");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("state/presence"))))
        .isEqualTo("rwx------");
  }

  @Test
  void daemonCommand_badInput_saysWhatIsWrong() {
    Map<String, String> env =
        Map.of(
            "HOME", dir.resolve("home").toString(),
            "XDG_STATE_HOME", dir.resolve("state").toString(),
            "XDG_CONFIG_HOME", dir.resolve("config").toString());
    assertThat(run(env, "daemon", "--token-file", dir.resolve("nothing").toString()))
        .startsWith("2:")
        .contains("cannot read the token file");
    assertThat(run(env, "daemon", "--url", "ftp://example.com", "--token-file", "x"))
        .startsWith("2:")
        .contains("not an http or https URL");
    assertThat(run(env, "daemon", "--url", "http:///no-host", "--token-file", "x"))
        .startsWith("2:")
        .contains("with a host");
    Path empty = dir.resolve("empty-token");
    assertThat(run(env, "daemon", "--token-file", touch(empty).toString()))
        .startsWith("2:")
        .contains("is empty");
    assertThat(run(env, "daemon", "--device", "no spaces", "--token-file", "x"))
        .startsWith("2:")
        .contains("device id");
    assertThat(run(env, "daemon", "--poll", "0")).startsWith("2:").contains("--poll");
    assertThat(run(Map.of(), "daemon")).startsWith("2:").contains("$HOME");
  }

  private static Path touch(Path file) {
    try {
      return Files.write(file, new byte[0]);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PresenceCli.run(args, env, new PrintWriter(out), new PrintWriter(err));
    return code + ":" + out + err;
  }
}
