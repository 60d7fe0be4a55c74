package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.testing.BusRecorder;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WsClient;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.RegisterPush;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.event.PresenceEvent;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.NewApplication;
import org.presence.store.permission.Grant;

/**
 * The device channel end to end, over real sockets: sessions, status updates, replacement, every
 * error answered as documented, presence events on the bus, the push-server endpoint. Runs on the
 * embedded default ({@code DeviceChannelTest}, one node) and on a two-node cluster over PostgreSQL
 * and Redis ({@code DeviceChannelIT}), where {@link #nodeB()} is a second node.
 */
public abstract class DeviceChannelContract {
  /** The push secret of the test nodes. */
  protected static final String PUSH_SECRET = "test-push-secret-0123456789";

  /** Well within the time anything should take. */
  private static final Duration WAIT = Duration.ofSeconds(10);

  /** How long a test watches for something that must not happen. */
  private static final Duration QUIET = Duration.ofMillis(800);

  /** The default of {@code device.max-devices-per-user}, which the test nodes keep. */
  private static final int DEFAULT_MAX_DEVICES = 10;

  /** The grace period of the test nodes: short, so tests see it end. */
  protected static final String GRACE = "400ms";

  /** The node most tests use. */
  protected abstract TestNode nodeA();

  /** Another node of the same deployment (the same node in the embedded default). */
  protected abstract TestNode nodeB();

  /** Starts a node of the same deployment with {@code overrides}; the test closes it. */
  protected abstract TestNode startNode(Map<String, String> overrides);

  /** Settings every test node uses. */
  protected static Map<String, String> deviceSettings() {
    Map<String, String> s = new HashMap<>();
    s.put("device.offline-grace", GRACE);
    s.put("device.rate", "500");
    s.put("device.burst", "500");
    s.put("device.overdraft", "100");
    s.put("device.handshake-rate", "0");
    s.put("device.max-application-ids", "5");
    s.put("device.max-message-length", "20");
    s.put("identity.dev-signing", "true");
    s.put("push.secret", PUSH_SECRET);
    return s;
  }

  private static String email() {
    return "user-" + UUID.randomUUID() + "@example.com";
  }

  private static String sub(String email) {
    return DevIdentity.subjectFor(email);
  }

  private long app(String name) {
    return nodeA()
        .server()
        .store()
        .persistence()
        .apps()
        .create(
            new NewApplication(
                name, name + ".example.com", "test app", "dev:owner", "owner@example.com", "k"))
        .toCompletableFuture()
        .join()
        .id();
  }

  private Grant grant(String email, long app) {
    return nodeA()
        .server()
        .store()
        .persistence()
        .grants()
        .grant(sub(email), app, "as " + email)
        .toCompletableFuture()
        .join();
  }

  private DeviceTestClient connect(
      TestNode node, String email, ApplicationIds apps, String device) {
    return DeviceTestClient.connected(node, node.token(email), apps, device);
  }

  private static void assertClosedWith(DeviceTestClient c, ErrorCode code) {
    assertThat(c.error()).isEqualTo(code);
    WsClient.Close close = c.awaitClose();
    assertThat(close.code()).isEqualTo(code.closeCode());
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions and status

  @Test
  void connect_thenSessionId_andStatusUpdatesAcknowledged() {
    try (DeviceTestClient c = connect(nodeA(), email(), null, "phone")) {
      assertThat(c.session()).isNotNull();
      assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(c.status(PresenceStatus.AWAY, "lunch")).isEqualTo(Ack.INSTANCE);
      assertThat(c.status(PresenceStatus.UNAVAILABLE, null, ApplicationIds.of(1)))
          .isEqualTo(Ack.INSTANCE);
      assertThat(c.status(PresenceStatus.OFFLINE, null)).isEqualTo(Ack.INSTANCE);
    }
  }

  @Test
  void connect_withoutDeviceOrApplicationIds_thenWorks() {
    try (DeviceTestClient a = connect(nodeA(), email(), null, null)) {
      assertThat(a.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    }
  }

  @Test
  void status_publishesOneEventPerGrantByPuid_neverTheUser() {
    String email = email();
    long app = app("Beer");
    long paused = app("Paused");
    Grant g = grant(email, app);
    Grant p = grant(email, paused);
    nodeA()
        .server()
        .store()
        .persistence()
        .grants()
        .setEnabled(sub(email), p.puid(), false)
        .toCompletableFuture()
        .join();
    try (BusRecorder bus = BusRecorder.listen(nodeB().server().store().bus(), app, paused);
        DeviceTestClient c = connect(nodeA(), email, null, "phone")) {
      assertThat(c.status(PresenceStatus.ONLINE, "hello")).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).until(() -> bus.size() == 1);
      PresenceEvent e = bus.events().get(0);
      assertThat(e.appId()).isEqualTo(app);
      assertThat(e.puid()).isEqualTo(g.puid());
      assertThat(e.status()).isEqualTo(PresenceStatus.ONLINE);
      assertThat(e.message()).isEqualTo("hello");
      assertThat(e.toString()).doesNotContain(email).doesNotContain(sub(email));
      await().during(QUIET).atMost(WAIT).until(() -> bus.size() == 1);
    }
  }

  @Test
  void status_repeated_thenNoDuplicateEvents() {
    String email = email();
    long app = app("Dup");
    grant(email, app);
    try (BusRecorder bus = BusRecorder.listen(nodeB().server().store().bus(), app);
        DeviceTestClient c = connect(nodeA(), email, null, "phone")) {
      for (int i = 0; i < 3; i++) {
        assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      }
      assertThat(c.status(PresenceStatus.ONLINE, "m")).isEqualTo(Ack.INSTANCE);
      assertThat(c.status(PresenceStatus.ONLINE, "m")).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).until(() -> bus.size() == 2);
      await().during(QUIET).atMost(WAIT).until(() -> bus.size() == 2);
      assertThat(bus.seen(app)).containsExactly("online:null", "online:m");
    }
  }

  @Test
  void multiDevice_mostAvailableWins_andClosedDeviceGoesAfterGrace() {
    String email = email();
    long app = app("Multi");
    grant(email, app);
    try (BusRecorder bus = BusRecorder.listen(nodeA().server().store().bus(), app)) {
      DeviceTestClient phone = connect(nodeA(), email, null, "phone");
      DeviceTestClient laptop = connect(nodeB(), email, null, "laptop");
      assertThat(phone.status(PresenceStatus.AWAY, "on the bus")).isEqualTo(Ack.INSTANCE);
      // Publishing follows the ack. Changes of one user made on two nodes at once are ordered by
      // the update log's per-PUID version guard, which drops an older one that arrives after a
      // newer: wait for the phone's before the laptop's, to see both.
      await().atMost(WAIT).untilAsserted(() -> assertThat(bus.seen(app)).hasSize(1));
      assertThat(laptop.status(PresenceStatus.ONLINE, "at my desk")).isEqualTo(Ack.INSTANCE);
      // Less available than the laptop: nobody sees the phone's update.
      assertThat(phone.status(PresenceStatus.UNAVAILABLE, null)).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).untilAsserted(() -> assertThat(bus.seen(app)).hasSize(2));
      laptop.close();
      // After the grace period the laptop is offline; the phone is what remains.
      await().atMost(WAIT).until(() -> bus.size() == 3);
      phone.close();
      await().atMost(WAIT).until(() -> bus.size() == 4);
      await().during(QUIET).atMost(WAIT).until(() -> bus.size() == 4);
      assertThat(bus.seen(app))
          .containsExactly(
              "away:on the bus", "online:at my desk", "unavailable:null", "offline:null");
    }
  }

  @Test
  void reconnectWithinGrace_thenNoFlap() {
    String email = email();
    long app = app("Flap");
    grant(email, app);
    try (BusRecorder bus = BusRecorder.listen(nodeA().server().store().bus(), app)) {
      DeviceTestClient first = connect(nodeA(), email, null, "phone");
      assertThat(first.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).until(() -> bus.size() == 1);
      first.close();
      // Back within the grace period, on the other node.
      try (DeviceTestClient second = connect(nodeB(), email, null, "phone")) {
        assertThat(second.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
        await().during(Duration.ofMillis(1200)).atMost(WAIT).until(() -> bus.size() == 1);
      }
      await().atMost(WAIT).until(() -> bus.size() == 2);
      assertThat(bus.seen(app)).containsExactly("online:null", "offline:null");
    }
  }

  @Test
  void applicationIds_narrowTheAudience() {
    String email = email();
    long a = app("NarrowA");
    long b = app("NarrowB");
    grant(email, a);
    grant(email, b);
    try (BusRecorder bus = BusRecorder.listen(nodeA().server().store().bus(), a, b);
        DeviceTestClient c = connect(nodeA(), email, ApplicationIds.of(a), "phone")) {
      assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).until(() -> bus.size() == 1);
      assertThat(bus.seen(a)).containsExactly("online:null");
      // This update only, for b as well: b learns, a hears nothing new.
      assertThat(c.status(PresenceStatus.ONLINE, null, ApplicationIds.of(a, b)))
          .isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).until(() -> bus.size() == 2);
      assertThat(bus.seen(b)).containsExactly("online:null");
      await().during(QUIET).atMost(WAIT).until(() -> bus.size() == 2);
    }
  }

  /**
   * Issue 12 item 3: connected with [B], online for [A] (this update only), then unavailable for
   * the connect's list. A saw online and hears nothing from the update that did not name it.
   */
  @Test
  void applicationIds_ofOneUpdate_areForThatUpdateOnly() {
    String email = email();
    long a = app("OnlyA");
    long b = app("OnlyB");
    grant(email, a);
    grant(email, b);
    try (BusRecorder bus = BusRecorder.listen(nodeA().server().store().bus(), a, b)) {
      DeviceTestClient c = connect(nodeA(), email, ApplicationIds.of(b), "phone");
      assertThat(c.status(PresenceStatus.ONLINE, null, ApplicationIds.of(a)))
          .isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).until(() -> bus.size() == 1);
      assertThat(c.status(PresenceStatus.UNAVAILABLE, null)).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).untilAsserted(() -> assertThat(bus.seen(b)).hasSize(1));
      assertThat(c.status(PresenceStatus.AWAY, "later")).isEqualTo(Ack.INSTANCE);
      await().atMost(WAIT).untilAsserted(() -> assertThat(bus.seen(b)).hasSize(2));
      await()
          .during(QUIET)
          .atMost(WAIT)
          .untilAsserted(() -> assertThat(bus.seen(a)).containsExactly("online:null"));
      assertThat(bus.seen(b)).containsExactly("unavailable:null", "away:later");
      // The device goes (after its grace period): every application that saw it sees it go.
      c.close();
      await().atMost(WAIT).until(() -> bus.size() == 5);
      assertThat(bus.seen(a)).containsExactly("online:null", "offline:null");
      assertThat(bus.seen(b)).containsExactly("unavailable:null", "away:later", "offline:null");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Devices per user

  /** Issue 12 item 4: ten devices of one user over both nodes; the eleventh is refused (-8). */
  @Test
  void devicesPerUser_whenCapReached_thenNextDeviceGetsMinus8AndClosed() {
    String email = email();
    int cap = DEFAULT_MAX_DEVICES;
    List<DeviceTestClient> devices = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < cap; i++) {
        devices.add(connect(i % 2 == 0 ? nodeA() : nodeB(), email, null, "device-" + i));
      }
      for (TestNode node : List.of(nodeA(), nodeB())) {
        try (DeviceTestClient over = DeviceTestClient.open(node)) {
          over.send(new Connect(node.token(email), null, "device-" + cap));
          assertClosedWith(over, ErrorCode.TOO_MANY_SESSIONS);
        }
      }
      // A device without an id is a device too.
      try (DeviceTestClient anonymous = DeviceTestClient.open(nodeB())) {
        anonymous.send(new Connect(nodeB().token(email), null, null));
        assertClosedWith(anonymous, ErrorCode.TOO_MANY_SESSIONS);
      }
      // A device replacing its own session does not count twice.
      DeviceTestClient again = connect(nodeB(), email, null, "device-0");
      assertClosedWith(devices.get(0), ErrorCode.SESSION_REPLACED);
      devices.set(0, again);
      assertThat(again.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      // Another user is not affected.
      try (DeviceTestClient stranger = connect(nodeA(), email(), null, "device-" + cap)) {
        assertThat(stranger.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      }
      // A device that left counts until its grace period ends; then there is room again.
      devices.remove(devices.size() - 1).close();
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                DeviceTestClient c = DeviceTestClient.open(nodeA());
                if (c.request(new Connect(nodeA().token(email), null, "device-" + cap))
                    instanceof Connected) {
                  devices.add(c);
                  return true;
                }
                assertThat(c.awaitClose().code())
                    .isEqualTo(ErrorCode.TOO_MANY_SESSIONS.closeCode());
                c.close();
                return false;
              });
    } finally {
      devices.forEach(DeviceTestClient::close);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Replacement

  @Test
  void sameDeviceConnectsAgain_thenOlderSessionReplaced() {
    String email = email();
    DeviceTestClient old = connect(nodeA(), email, null, "phone");
    try (DeviceTestClient fresh = connect(nodeB(), email, null, "phone")) {
      assertClosedWith(old, ErrorCode.SESSION_REPLACED);
      assertThat(fresh.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    } finally {
      old.close();
    }
  }

  @Test
  void otherDeviceOrUser_thenNothingReplaced() {
    String email = email();
    try (DeviceTestClient phone = connect(nodeA(), email, null, "phone");
        DeviceTestClient laptop = connect(nodeB(), email, null, "laptop");
        DeviceTestClient stranger = connect(nodeB(), email(), null, "phone")) {
      assertThat(phone.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(laptop.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(stranger.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(phone.isClosed()).isFalse();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Errors that keep the session

  @Test
  void badFramesInAnOpenSession_thenDocumentedErrnoAndSessionKept() {
    try (DeviceTestClient c = connect(nodeA(), email(), null, "phone")) {
      String s = c.session().toString();
      Map<String, ErrorCode> cases = new java.util.LinkedHashMap<>();
      cases.put("{\"type\":\"status\",", ErrorCode.MALFORMED_JSON);
      cases.put("not json at all", ErrorCode.MALFORMED_JSON);
      cases.put("{\"type\":\"wave\",\"session_id\":\"" + s + "\"}", ErrorCode.UNKNOWN_TYPE);
      cases.put("{\"type\":\"status\",\"session_id\":\"" + s + "\"}", ErrorCode.MISSING_FIELD);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\"" + s + "\",\"status\":1}",
          ErrorCode.WRONG_FIELD_TYPE);
      cases.put(
          "{\"type\":\"status\",\"status\":\"online\",\"status\":\"away\",\"session_id\":\""
              + s
              + "\"}",
          ErrorCode.DUPLICATE_FIELD);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\"" + s + "\",\"status\":\"busy\"}",
          ErrorCode.INVALID_STATUS);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\""
              + s
              + "\",\"status\":\"away\",\"message\":\""
              + "x".repeat(21)
              + "\"}",
          ErrorCode.MESSAGE_TOO_LONG);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\""
              + s
              + "\",\"status\":\"away\",\"message\":\"back \\u202Esoon\"}",
          ErrorCode.INVALID_FIELD_VALUE);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\""
              + s
              + "\",\"status\":\"away\",\"application_ids\":[1,2,3,4,5,6]}",
          ErrorCode.TOO_MANY_APPLICATION_IDS);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\""
              + s
              + "\",\"status\":\"away\",\"application_ids\":[-1]}",
          ErrorCode.INVALID_APPLICATION_ID);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\""
              + UUID.randomUUID()
              + "\",\"status\":\"online\"}",
          ErrorCode.UNKNOWN_SESSION);
      cases.put(
          "{\"type\":\"status\",\"session_id\":\"nope\",\"status\":\"online\"}",
          ErrorCode.UNKNOWN_SESSION);
      cases.put("{\"type\":\"connect\",\"assertion\":\"again\"}", ErrorCode.ALREADY_CONNECTED);
      for (Map.Entry<String, ErrorCode> e : cases.entrySet()) {
        c.sendText(e.getKey());
        DeviceMessage reply = c.reply();
        assertThat(reply).as(e.getKey()).isInstanceOf(ErrorReply.class);
        ErrorReply r = (ErrorReply) reply;
        assertThat(r.errno()).as(e.getKey()).isEqualTo(e.getValue().errno());
        assertThat(r.reason()).startsWith(e.getValue().reason());
      }
      c.ws().sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}));
      assertThat(c.error()).isEqualTo(ErrorCode.NON_TEXT_FRAME);
      assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(c.isClosed()).isFalse();
    }
  }

  @Test
  void registerPush_withoutDeviceId_thenMissingFieldAndKept() {
    try (DeviceTestClient c = connect(nodeA(), email(), null, null)) {
      assertThat(c.request(new RegisterPush(c.session(), "xpi-" + UUID.randomUUID())))
          .isEqualTo(ErrorReply.of(ErrorCode.MISSING_FIELD, "device (in the connect request)"));
      assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Errors that end the socket

  /**
   * A connect and the frames after it in one write: the connect's answer, then each of them as on
   * an open session, in order, whether the connect is decided at once or waits (a user with saved
   * settings waits for them to load from the database; a cluster claims the device in Redis). A
   * status sent before the answer cannot name the session: errno 20, and the session is kept.
   */
  @Test
  void connectAndFramesInOneWrite_thenTheConnectsAnswer_thenTheFramesAnsweredInOrder()
      throws Exception {
    for (boolean savedSettings : new boolean[] {false, true}) {
      String email = email();
      if (savedSettings) {
        HttpResponse<String> r =
            org.presence.gateway.testing.ApiClient.forEmail(nodeA(), email)
                .put("/api/settings", "{\"custom_status\":\"at my desk\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      try (RawWebSocket ws = RawWebSocket.connect(nodeA().port(), "/presence")) {
        java.util.Random random = new java.util.Random(22);
        java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
        for (DeviceMessage m :
            List.of(
                new Connect(nodeA().token(email), null, "phone"),
                new StatusUpdate(UUID.randomUUID(), PresenceStatus.ONLINE, null, null),
                new DeviceMessage.Refresh(nodeA().token(email)))) {
          burst.writeBytes(
              RawWebSocket.frame(RawWebSocket.TEXT, true, DeviceCodec.toBytes(m), random));
        }
        ws.sendBytes(burst.toByteArray());
        String settings = "settings: " + savedSettings;
        String connected = ws.readText(WAIT, true);
        assertThat(connected).as(settings).contains("\"session_id\"");
        assertThat(ws.readText(WAIT, true))
            .as(settings)
            .contains("\"errno\":" + ErrorCode.UNKNOWN_SESSION.errno());
        assertThat(ws.readText(WAIT, true))
            .as(settings)
            .startsWith("{\"result\":true,\"expires_at\":");
        // The session is open: a status naming it is acknowledged.
        String session = connected.replaceAll(".*\"session_id\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        ws.sendText(
            new String(
                DeviceCodec.toBytes(
                    new StatusUpdate(UUID.fromString(session), PresenceStatus.ONLINE, null, null)),
                StandardCharsets.UTF_8));
        assertThat(ws.readText(WAIT, true)).as(settings).isEqualTo("{\"result\":true}");
      }
    }
  }

  @Test
  void statusBeforeConnect_thenNotConnectedAndClosed() {
    try (DeviceTestClient c = DeviceTestClient.open(nodeA())) {
      c.send(new StatusUpdate(UUID.randomUUID(), PresenceStatus.ONLINE, null, null));
      assertClosedWith(c, ErrorCode.NOT_CONNECTED);
    }
  }

  @Test
  void malformedFirstFrame_thenItsErrnoAndClosed() {
    try (DeviceTestClient c = DeviceTestClient.open(nodeA())) {
      c.sendText("{\"type\":");
      assertClosedWith(c, ErrorCode.MALFORMED_JSON);
    }
  }

  @Test
  void invalidAssertion_then34AndClosed() {
    try (DeviceTestClient c = DeviceTestClient.open(nodeA())) {
      c.send(new Connect("not.a.jwt", null, "phone"));
      DeviceMessage reply = c.reply();
      assertThat(reply).isInstanceOf(ErrorReply.class);
      assertThat(((ErrorReply) reply).errno()).isEqualTo(34);
      assertThat(((ErrorReply) reply).reason()).startsWith("Invalid assertion");
      assertThat(c.awaitClose().code()).isEqualTo(4034);
    }
  }

  @Test
  void expiredAssertion_then35AndClosed() {
    TestNode node = nodeA();
    String token =
        node.server()
            .devIdentity()
            .mint(email(), Duration.ofMinutes(-10), node.server().config().identity().audience());
    try (DeviceTestClient c = DeviceTestClient.open(node)) {
      c.send(new Connect(token, null, "phone"));
      assertClosedWith(c, ErrorCode.ASSERTION_EXPIRED);
    }
  }

  @Test
  void frameTooLarge_thenLostWithMinus5() {
    try (DeviceTestClient c = connect(nodeA(), email(), null, "phone")) {
      c.sendText("{\"type\":\"status\",\"pad\":\"" + "x".repeat(9000) + "\"}");
      assertClosedWith(c, ErrorCode.FRAME_TOO_LARGE);
    }
  }

  @Test
  void anOpenSession_isOneConnection_whichTheRegistryHolds() {
    TestNode node = startNode(Map.of());
    try (DeviceTestClient c =
        DeviceTestClient.connected(node, node.token(email()), null, "phone")) {
      await().atMost(WAIT).until(() -> node.server().device().registry().size() == 1);
      assertThat(node.server().openConnections()).as("counted once").isEqualTo(1);
    } finally {
      node.close();
    }
  }

  @Test
  void drain_thenServerShuttingDownWithGoingAway() {
    TestNode node = startNode(Map.of());
    try (DeviceTestClient c =
        DeviceTestClient.connected(node, node.token(email()), null, "phone")) {
      node.server().drain(Duration.ofSeconds(5));
      assertThat(c.error()).isEqualTo(ErrorCode.SERVER_SHUTTING_DOWN);
      assertThat(c.awaitClose().code()).isEqualTo(1001);
    } finally {
      node.close();
    }
  }

  @Test
  void rateLimit_thenSlowDownKeeps_thenFloodLoses() {
    TestNode node =
        startNode(Map.of("device.rate", "0.1", "device.burst", "2", "device.overdraft", "3"));
    try (DeviceTestClient c = DeviceTestClient.connected(node, node.token(email()), null, "phone");
        DeviceTestClient other =
            DeviceTestClient.connected(node, node.token(email()), null, "phone")) {
      assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(c.status(PresenceStatus.AWAY, null)).isEqualTo(Ack.INSTANCE);
      assertThat(c.status(PresenceStatus.ONLINE, null))
          .isEqualTo(ErrorReply.of(ErrorCode.SLOW_DOWN, null));
      assertThat(c.isClosed()).isFalse();
      for (int i = 0; i < 2; i++) {
        assertThat(c.status(PresenceStatus.ONLINE, null))
            .isEqualTo(ErrorReply.of(ErrorCode.SLOW_DOWN, null));
      }
      c.send(new StatusUpdate(c.session(), PresenceStatus.ONLINE, null, null));
      assertClosedWith(c, ErrorCode.RATE_LIMIT_EXCEEDED);
      // Another session is not affected.
      assertThat(other.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    } finally {
      node.close();
    }
  }

  @Test
  void noConnectInTime_thenConnectTimeout() {
    TestNode node = startNode(Map.of("device.connect-timeout", "300ms"));
    try (DeviceTestClient c = DeviceTestClient.open(node)) {
      assertClosedWith(c, ErrorCode.CONNECT_TIMEOUT);
    } finally {
      node.close();
    }
  }

  @Test
  void tooManyHandshakesFromOneAddress_then41AndClosed() {
    TestNode node =
        startNode(Map.of("device.handshake-rate", "0.01", "device.handshake-burst", "2"));
    try (DeviceTestClient a = DeviceTestClient.connected(node, node.token(email()), null, null);
        DeviceTestClient b = DeviceTestClient.connected(node, node.token(email()), null, null);
        DeviceTestClient c = DeviceTestClient.open(node)) {
      c.send(new Connect(node.token(email()), null, null));
      assertClosedWith(c, ErrorCode.TOO_MANY_HANDSHAKES);
      assertThat(a.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    } finally {
      node.close();
    }
  }

  private static Map<String, String> forwardedFor(String address) {
    return Map.of("X-Forwarded-For", address);
  }

  @Test
  void behindATrustedProxy_handshakeLimitCountsEachForwardedAddress() {
    // The test client plays the proxy: it connects from 127.0.0.1 and says whom for.
    TestNode node =
        startNode(
            Map.of(
                "gateway.trusted-proxies", "127.0.0.1/32",
                "device.handshake-rate", "0.01",
                "device.handshake-burst", "1"));
    try (DeviceTestClient a =
            DeviceTestClient.connected(
                node, forwardedFor("203.0.113.1"), node.token(email()), null, null);
        DeviceTestClient b =
            DeviceTestClient.connected(
                node, forwardedFor("198.51.100.7, 203.0.113.2"), node.token(email()), null, null);
        DeviceTestClient again = DeviceTestClient.open(node, forwardedFor("203.0.113.1"))) {
      again.send(new Connect(node.token(email()), null, null));
      assertClosedWith(again, ErrorCode.TOO_MANY_HANDSHAKES);
      assertThat(a.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      assertThat(b.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    } finally {
      node.close();
    }
  }

  @Test
  void notBehindATrustedProxy_forwardedForIsIgnored() {
    // No proxy trusted, or not this peer: the header is the client's word, and it is not taken.
    for (String proxies : List.of("[]", "10.0.0.0/8")) {
      TestNode node =
          startNode(
              Map.of(
                  "gateway.trusted-proxies", proxies,
                  "device.handshake-rate", "0.01",
                  "device.handshake-burst", "1"));
      try (DeviceTestClient a =
              DeviceTestClient.connected(
                  node, forwardedFor("203.0.113.1"), node.token(email()), null, null);
          DeviceTestClient forged = DeviceTestClient.open(node, forwardedFor("203.0.113.2"))) {
        forged.send(new Connect(node.token(email()), null, null));
        assertClosedWith(forged, ErrorCode.TOO_MANY_HANDSHAKES);
        assertThat(a.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      } finally {
        node.close();
      }
    }
  }

  @Test
  void keepalive_pingsIdleSockets_closesSilentPeers_keepsAnsweringOnes() throws Exception {
    TestNode node =
        startNode(Map.of("device.ping-interval", "200ms", "device.ping-timeout", "300ms"));
    try (DeviceTestClient answering =
            DeviceTestClient.connected(node, node.token(email()), null, "phone");
        RawWebSocket silent = RawWebSocket.connect(node.port(), "/presence")) {
      silent.sendText(
          new String(
              org.presence.protocol.device.DeviceCodec.toBytes(
                  new Connect(node.token(email()), null, "laptop")),
              StandardCharsets.UTF_8));
      assertThat(silent.readText(WAIT, false)).contains("session_id");
      RawWebSocket.Frame ping = silent.read(WAIT);
      assertThat(ping).isNotNull();
      assertThat(ping.opcode()).isEqualTo(RawWebSocket.PING);
      // It does not answer: error frame, then the close.
      assertThat(silent.readText(WAIT, false)).contains("\"errno\":-7");
      // The JDK client answers pings by itself and keeps its session.
      await().during(Duration.ofMillis(1500)).atMost(WAIT).until(() -> !answering.isClosed());
      assertThat(answering.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
    } finally {
      node.close();
    }
  }

  /** Opens a session on {@code ws} (a connect with a token of this test's user) and awaits it. */
  private void connectRaw(RawWebSocket ws, TestNode node) throws java.io.IOException {
    ws.sendText(
        new String(
            org.presence.protocol.device.DeviceCodec.toBytes(
                new Connect(node.token(email()), null, "phone")),
            StandardCharsets.UTF_8));
    assertThat(ws.readText(WAIT, false)).contains("session_id");
  }

  @Test
  void controlFrames_pingAnsweredWithItsPayload_closeEchoedThenSocketEnds() throws Exception {
    TestNode node = nodeA();
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence")) {
      connectRaw(ws, node);
      ws.send(RawWebSocket.PING, true, new byte[] {7, 8, 9});
      RawWebSocket.Frame pong = ws.read(WAIT);
      assertThat(pong.opcode()).isEqualTo(RawWebSocket.PONG);
      assertThat(pong.payload()).containsExactly(7, 8, 9);
      ws.send(RawWebSocket.CLOSE, true, new byte[] {0x03, (byte) 0xE8, 'b', 'y', 'e'});
      RawWebSocket.Frame close = ws.awaitClose(WAIT);
      assertThat(close).isNotNull();
      assertThat(close.closeCode()).isEqualTo(1000);
      assertThat(ws.ended(WAIT)).isTrue();
    }
  }

  @Test
  void closeFramesWithACodeNoPeerMaySend_failTheConnection_beforeAndAfterTheConnect()
      throws Exception {
    TestNode node = nodeA();
    // RFC 6455 §7.4: 0-999, 1004-1006 and 1015 are never sent, 1016-2999 are reserved, and
    // nothing above 4999 is a close code. Netty's decoder refuses some of these itself; the rest
    // must fail the same way.
    for (int code : new int[] {999, 1015, 2999, 5000, 65535}) {
      for (boolean connected : new boolean[] {false, true}) {
        try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence")) {
          if (connected) {
            connectRaw(ws, node);
          }
          ws.send(RawWebSocket.CLOSE, true, new byte[] {(byte) (code >> 8), (byte) code});
          assertThat(ws.readText(WAIT, false))
              .as("close code %d, connected %s", code, connected)
              .contains("\"errno\":-9");
          RawWebSocket.Frame close = ws.awaitClose(WAIT);
          assertThat(close).isNotNull();
          assertThat(close.closeCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED.closeCode());
        }
      }
    }
    // 3000-4999 are the applications' own: echoed like any close.
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence")) {
      connectRaw(ws, node);
      ws.send(RawWebSocket.CLOSE, true, new byte[] {(byte) (4999 >> 8), (byte) 4999});
      RawWebSocket.Frame close = ws.awaitClose(WAIT);
      assertThat(close).isNotNull();
      assertThat(close.closeCode()).isEqualTo(4999);
      assertThat(ws.ended(WAIT)).isTrue();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Hostile input on a live socket

  @Test
  void randomMalformedFrames_eachAnsweredAndTheSessionStillWorks() throws Exception {
    String email = email();
    TestNode node = nodeA();
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence");
        DeviceTestClient bystander = connect(nodeA(), email(), null, "other")) {
      ws.sendText(
          new String(
              org.presence.protocol.device.DeviceCodec.toBytes(
                  new Connect(node.token(email), null, "phone")),
              StandardCharsets.UTF_8));
      String connected = ws.readText(WAIT, true);
      assertThat(connected).contains("session_id");
      String session =
          connected.substring(
              connected.indexOf("session_id\":\"") + 13, connected.indexOf("session_id\":\"") + 49);
      String good =
          "{\"type\":\"status\",\"session_id\":\""
              + session
              + "\",\"status\":\"away\",\"message\":\"héllo\"}";
      long seed = System.nanoTime();
      java.util.Random r = new java.util.Random(seed);
      List<String> hostile = new java.util.ArrayList<>();
      for (int i = 0; i < 60; i++) {
        byte[] g = good.getBytes(StandardCharsets.UTF_8);
        switch (i % 6) {
          case 0 ->
              hostile.add(
                  new String(
                      java.util.Arrays.copyOf(g, r.nextInt(g.length - 1)), StandardCharsets.UTF_8));
          case 1 -> hostile.add("{\"x\":" + "[".repeat(20 + r.nextInt(200)) + "]");
          case 2 ->
              hostile.add(
                  "{\"type\":\"status\",\"session_id\":\""
                      + session
                      + "\",\"status\":\"away\",\"n\":"
                      + "9".repeat(30 + r.nextInt(100))
                      + "}");
          case 3 -> {
            char[] c = good.toCharArray();
            c[r.nextInt(c.length)] = "{}[]\":,x\\".charAt(r.nextInt(9));
            String s = new String(c);
            if (!s.equals(good)) {
              hostile.add(s);
            }
          }
          case 4 ->
              hostile.add(
                  "{\"type\":\"status\",\"session_id\":\""
                      + session
                      + "\",\"status\":\"online\",\"application_ids\":[1e400]}");
          default -> hostile.add("\u0000\u0001" + r.nextInt());
        }
      }
      int answered = 0;
      for (String h : hostile) {
        ws.sendText(h);
        String reply = ws.readText(WAIT, true);
        assertThat(reply).as("seed %d: %s", seed, h).isNotNull();
        if (reply.contains("\"result\":false")) {
          assertThat(reply).as("seed %d: %s", seed, h).doesNotContain("\"errno\":-");
        }
        answered++;
      }
      assertThat(answered).isEqualTo(hostile.size());
      // Binary and fragmented frames.
      ws.send(RawWebSocket.BINARY, true, new byte[] {(byte) 0xFF, 0});
      assertThat(ws.readText(WAIT, true)).contains("\"errno\":15");
      ws.send(RawWebSocket.TEXT, false, "{\"type\":".getBytes(StandardCharsets.UTF_8));
      assertThat(ws.readText(WAIT, true)).contains("\"errno\":10");
      ws.send(RawWebSocket.CONTINUATION, true, "\"status\"}".getBytes(StandardCharsets.UTF_8));
      ws.sendText(good);
      assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
      assertThat(bystander.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      // (A text frame that is not UTF-8 fails the connection with 1007: Utf8BadInputTest.)
      // A frame with an opcode RFC 6455 reserves violates the protocol: the connection fails.
      ws.send(0x3, true, new byte[] {1});
      assertThat(ws.readText(WAIT, true)).contains("\"errno\":-9");
      assertThat(ws.ended(WAIT)).isTrue();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Push server

  private HttpResponse<String> push(TestNode node, String secret, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/push/status"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json");
    if (secret != null) {
      b.header("Authorization", "Bearer " + secret);
    }
    return TestNode.send(b.build());
  }

  @Test
  void pushServerReports_updatePresenceAsTheSocketDoes() {
    String email = email();
    long app = app("Push");
    grant(email, app);
    String xpi = "xpi-" + UUID.randomUUID();
    try (BusRecorder bus = BusRecorder.listen(nodeA().server().store().bus(), app)) {
      try (DeviceTestClient c = connect(nodeA(), email, null, "tablet")) {
        assertThat(c.request(new RegisterPush(c.session(), xpi))).isEqualTo(Ack.INSTANCE);
      }
      HttpResponse<String> r =
          push(nodeB(), PUSH_SECRET, "{\"xpi\":\"" + xpi + "\",\"xps\":\"A\"}");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"result\":true}");
      await().atMost(WAIT).until(() -> bus.size() == 1);
      assertThat(push(nodeA(), PUSH_SECRET, "{\"xpi\":\"" + xpi + "\",\"xps\":\"A\"}").statusCode())
          .isEqualTo(200);
      assertThat(push(nodeA(), PUSH_SECRET, "{\"xpi\":\"" + xpi + "\",\"xps\":\"O\"}").statusCode())
          .isEqualTo(200);
      await().atMost(WAIT).until(() -> bus.size() == 2);
      // The push-reported device and a socket device aggregate like two sockets.
      try (DeviceTestClient phone = connect(nodeB(), email, null, "phone")) {
        assertThat(phone.status(PresenceStatus.AWAY, "x")).isEqualTo(Ack.INSTANCE);
        await().during(QUIET).atMost(WAIT).until(() -> bus.size() == 2);
        assertThat(
                push(nodeA(), PUSH_SECRET, "{\"xpi\":\"" + xpi + "\",\"xps\":\"U\"}").statusCode())
            .isEqualTo(200);
        await().atMost(WAIT).until(() -> bus.size() == 3);
      }
      assertThat(bus.seen(app)).containsExactly("away:null", "online:null", "away:x");
    }
  }

  @Test
  void pushServer_errorsAnsweredAsDocumented() {
    TestNode node = nodeA();
    HttpResponse<String> noAuth = push(node, null, "{\"xpi\":\"a\",\"xps\":\"O\"}");
    assertThat(noAuth.statusCode()).isEqualTo(401);
    assertThat(noAuth.body()).contains("\"errno\":110");
    assertThat(
            push(node, "wrong-secret-wrong-secret", "{\"xpi\":\"a\",\"xps\":\"O\"}").statusCode())
        .isEqualTo(401);
    HttpResponse<String> unknown =
        push(node, PUSH_SECRET, "{\"xpi\":\"never-tied-" + UUID.randomUUID() + "\",\"xps\":\"O\"}");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.body()).contains("\"errno\":25");
    HttpResponse<String> bad = push(node, PUSH_SECRET, "{\"xpi\":\"a\",\"xps\":\"Z\"}");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.body()).contains("\"errno\":16");
    assertThat(push(node, PUSH_SECRET, "{\"xpi\":").body()).contains("\"errno\":10");
    assertThat(push(node, PUSH_SECRET, "{\"xps\":\"O\"}").body()).contains("\"errno\":12");
  }

  @Test
  void registerPush_idOfAnotherUser_thenTakenAndKept_thenRetieMovesTheDevice() {
    String xpi = "xpi-" + UUID.randomUUID();
    String alice = email();
    try (DeviceTestClient a = connect(nodeA(), alice, null, "phone");
        DeviceTestClient m = connect(nodeB(), email(), null, "phone")) {
      assertThat(a.request(new RegisterPush(a.session(), xpi))).isEqualTo(Ack.INSTANCE);
      assertThat(m.request(new RegisterPush(m.session(), xpi)))
          .isEqualTo(ErrorReply.of(ErrorCode.PRESENCE_ID_TAKEN, null));
      assertThat(m.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      // Alice's phone re-registers with its push server and ties a new id.
      String renewed = "xpi-" + UUID.randomUUID();
      assertThat(a.request(new RegisterPush(a.session(), renewed))).isEqualTo(Ack.INSTANCE);
      assertThat(push(nodeA(), PUSH_SECRET, "{\"xpi\":\"" + xpi + "\",\"xps\":\"O\"}").statusCode())
          .isEqualTo(404);
      assertThat(
              push(nodeA(), PUSH_SECRET, "{\"xpi\":\"" + renewed + "\",\"xps\":\"O\"}")
                  .statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void metrics_showDeviceSessionsFramesAndErrors() {
    try (DeviceTestClient c = connect(nodeA(), email(), null, "phone")) {
      assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      c.sendText("{");
      assertThat(c.error()).isEqualTo(ErrorCode.MALFORMED_JSON);
      String metrics = nodeA().adminGet("/metrics").body();
      assertThat(metrics)
          .containsPattern("(?m)^presence_connections_open\\{kind=\"device\"\\} [1-9]")
          .containsPattern("(?m)^presence_device_sessions_open(_total)? [1-9]")
          .containsPattern("(?m)^presence_frames_in_total\\{kind=\"device\"\\} [1-9]")
          .containsPattern(
              "(?m)^presence_errors_total\\{errno=\"10\",error=\"malformed_json\"\\} [1-9]")
          .contains("presence_device_presence_changes");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Cost

  /**
   * An open, idle session costs no timer of its own (the registry's sweep ends it when its identity
   * expires, as it pings it when silent) and no handshaker (kept by Netty in a channel attribute
   * for {@code ws-protocol}, which has left the pipeline).
   */
  @Test
  void anIdleOpenSession_holdsNoTimerAndNoHandshaker() throws Exception {
    io.netty.util.AttributeKey<?> handshaker =
        io.netty.util.AttributeKey.valueOf(
            io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker.class, "HANDSHAKER");
    int n = 8;
    List<DeviceTestClient> clients = new java.util.ArrayList<>();
    try {
      clients.add(connect(nodeA(), email(), null, "phone"));
      assertThat(clients.get(0).status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      var registry = nodeA().server().device().registry();
      await().atMost(WAIT).until(() -> registry.size() > 0);
      List<io.netty.channel.Channel> channels = new java.util.concurrent.CopyOnWriteArrayList<>();
      registry.forEachChannel(channels::add);
      io.netty.util.concurrent.EventExecutorGroup loops = channels.get(0).eventLoop().parent();
      int before = scheduledTasks(loops);
      for (int i = 0; i < n; i++) {
        DeviceTestClient c = connect(nodeA(), email(), null, "phone");
        clients.add(c);
        assertThat(c.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      }
      assertThat(scheduledTasks(loops) - before)
          .as("timers scheduled for %d more idle sessions", n)
          .isLessThan(n);
      channels.clear();
      registry.forEachChannel(channels::add);
      assertThat(channels).hasSizeGreaterThan(n);
      for (io.netty.channel.Channel ch : channels) {
        assertThat(ch.eventLoop().submit(() -> ch.hasAttr(handshaker)).get())
            .as("handshaker attribute of %s", ch)
            .isFalse();
      }
    } finally {
      clients.forEach(DeviceTestClient::close);
    }
  }

  /** The tasks scheduled on the event loops of {@code loops}, each counted on its own thread. */
  private static int scheduledTasks(io.netty.util.concurrent.EventExecutorGroup loops)
      throws Exception {
    java.lang.reflect.Field queue =
        io.netty.util.concurrent.AbstractScheduledEventExecutor.class.getDeclaredField(
            "scheduledTaskQueue");
    queue.setAccessible(true);
    int count = 0;
    for (io.netty.util.concurrent.EventExecutor loop : loops) {
      count +=
          loop.submit(
                  () -> {
                    java.util.Collection<?> q = (java.util.Collection<?>) queue.get(loop);
                    return q == null ? 0 : q.size();
                  })
              .get();
    }
    return count;
  }

  @Test
  void aSessionsSocket_sendsWithoutDelay_andKeepsAlive() throws Exception {
    try (DeviceTestClient c = connect(nodeA(), email(), null, "phone")) {
      assertThat(c.session()).isNotNull();
      var registry = nodeA().server().device().registry();
      await().atMost(WAIT).until(() -> registry.size() > 0);
      List<io.netty.channel.Channel> channels = new java.util.concurrent.CopyOnWriteArrayList<>();
      registry.forEachChannel(channels::add);
      for (io.netty.channel.Channel ch : channels) {
        assertThat(ch.config().getOption(io.netty.channel.ChannelOption.TCP_NODELAY))
            .as("TCP_NODELAY of %s", ch)
            .isTrue();
        assertThat(ch.config().getOption(io.netty.channel.ChannelOption.SO_KEEPALIVE))
            .as("SO_KEEPALIVE of %s", ch)
            .isTrue();
      }
    }
  }

  @Test
  void afterUpgrade_noHttpHandlerRemainsInThePipeline() throws Exception {
    try (DeviceTestClient c = connect(nodeA(), email(), null, "phone")) {
      UUID id = c.session();
      var link = nodeA().server().device().registry();
      await().atMost(WAIT).until(() -> link.size() > 0);
      List<String> names = new java.util.ArrayList<>();
      nodeA()
          .server()
          .device()
          .registry()
          .forEachChannel(
              ch -> {
                if (names.isEmpty()) {
                  names.addAll(ch.pipeline().names());
                }
              });
      // The session handler took over the backpressure handler's and the encoder's work once the
      // WebSocket was up, and the decoder's once the connect was read.
      assertThat(names).containsExactly("device-session", "DefaultChannelPipeline$TailContext#0");
      assertThat(id).isNotNull();
    }
  }
}
