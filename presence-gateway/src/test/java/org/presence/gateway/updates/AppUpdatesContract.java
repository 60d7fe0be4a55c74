package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.updates.UpdatesFixture.device;
import static org.presence.gateway.updates.UpdatesFixture.status;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.gateway.testing.UpdateClient.Item;
import org.presence.gateway.testing.WebhookStub;
import org.presence.gateway.testing.WsClient;
import org.presence.gateway.updates.UpdatesFixture.App;
import org.presence.gateway.webhook.WebhookDispatcher;
import org.presence.gateway.webhook.WebhookSignature;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;

/**
 * Presence updates to applications end to end, over real sockets: the update channel, the stream
 * and webhooks; snapshot then updates without a gap or a duplicate; resume with {@code since};
 * fresh snapshots; pause, resume and revoke; receipts; a stalled consumer; bad input. Runs on the
 * embedded default ({@code AppUpdatesTest}, where {@link #nodeB()} is the same node) and on two
 * nodes over PostgreSQL and Redis ({@code AppUpdatesIT}).
 */
public abstract class AppUpdatesContract {
  protected static final Duration WAIT = Duration.ofSeconds(20);
  protected static final Duration QUIET = Duration.ofMillis(700);

  protected UpdatesFixture fx;

  /** The node most tests use. */
  protected abstract TestNode nodeA();

  /** Another node of the same deployment (the same node in the embedded default). */
  protected abstract TestNode nodeB();

  /**
   * A {@code since} the log of {@code appId} can no longer serve, its last number being {@code
   * last}: the hour passed (the cluster drops the log's entries), or the number is from before the
   * log's start (the embedded default after a restart).
   */
  protected abstract long staleSince(long appId, long last);

  /** Starts another node of the same deployment (its own data in the embedded default). */
  protected abstract TestNode startNode();

  @BeforeEach
  void fixture() {
    fx = new UpdatesFixture();
  }

  @AfterEach
  void closeFixture() {
    fx.close();
  }

  // ---------------------------------------------------------------------------------------------
  // The update channel

  @Test
  void channel_resultThenSnapshotOfWhoIsNotOffline_thenLiveUpdatesNumberedInOrder() {
    App app = fx.activeApp(nodeA(), "Chat");
    String alice = fx.email("alice");
    String bob = fx.email("bob");
    String carol = fx.email("carol");
    String pa = fx.grant(nodeA(), alice, app);
    String pb = fx.grant(nodeA(), bob, app);
    String pc = fx.grant(nodeA(), carol, app);
    try (DeviceTestClient da = device(nodeA(), alice, "phone");
        DeviceTestClient db = device(nodeB(), bob, "laptop")) {
      status(da, PresenceStatus.ONLINE, "hello");
      status(db, PresenceStatus.AWAY, null);
      try (UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), -1)) {
        UpdateClient.Snapshot snap = awaitSnapshotWith(c, 2);
        assertThat(snap.fresh()).isFalse();
        assertThat(snap.users()).containsOnlyKeys(pa, pb);
        assertThat(snap.users().get(pa).status()).isEqualTo("online");
        assertThat(snap.users().get(pa).message()).isEqualTo("hello");
        assertThat(snap.users().get(pb).status()).isEqualTo("away");
        assertThat(snap.users().get(pb).message()).isNull();

        status(da, PresenceStatus.AWAY, "lunch");
        try (DeviceTestClient dc = device(nodeB(), carol, "tablet")) {
          status(dc, PresenceStatus.ONLINE, null);
          List<Item> got = c.updates(2);
          assertThat(got)
              .extracting(Item::puid, Item::status)
              .containsExactly(
                  org.assertj.core.groups.Tuple.tuple(pa, "away"),
                  org.assertj.core.groups.Tuple.tuple(pc, "online"));
          assertThat(got.get(0).message()).isEqualTo("lunch");
          assertThat(got.get(0).seq()).isGreaterThan(snap.seq());
          assertThat(got.get(1).seq()).isGreaterThan(got.get(0).seq());
        }
      }
    }
  }

  /** The snapshot, reconnecting until it shows {@code users} users (device events may lag). */
  private UpdateClient.Snapshot awaitSnapshotWith(UpdateClient c, int users) {
    UpdateClient.Snapshot s = c.snapshot();
    if (s.users().size() >= users) {
      return s;
    }
    throw new AssertionError(
        "snapshot shows " + s.users().size() + " users, expected " + users + ": " + s);
  }

  @Test
  void channel_severalConnectionsOfOneApp_eachGetsEveryUpdate_onEitherNode() {
    App app = fx.activeApp(nodeA(), "Failover");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    try (UpdateClient c1 = UpdateClient.connected(nodeA(), app.id(), app.key(), -1);
        UpdateClient c2 = UpdateClient.connected(nodeB(), app.id(), app.key(), -1);
        DeviceTestClient d = device(nodeA(), alice, "phone")) {
      c1.snapshot();
      c2.snapshot();
      status(d, PresenceStatus.ONLINE, null);
      status(d, PresenceStatus.AWAY, null);
      status(d, PresenceStatus.UNAVAILABLE, "driving");
      List<Item> a = c1.updates(3);
      List<Item> b = c2.updates(3);
      assertThat(a).isEqualTo(b);
      assertThat(a).extracting(Item::status).containsExactly("online", "away", "unavailable");
      assertThat(a).extracting(Item::puid).containsOnly(pa);
      assertThat(a).extracting(Item::seq).isSorted().doesNotHaveDuplicates();
    }
  }

  @Test
  void channel_appNeverSeesAUserIdOrEmailOrAnotherAppsPuid() {
    App chat = fx.activeApp(nodeA(), "Chat");
    App other = fx.activeApp(nodeA(), "Other");
    String alice = fx.email("alice");
    String pChat = fx.grant(nodeA(), alice, chat);
    String pOther = fx.grant(nodeA(), alice, other);
    assertThat(pChat).isNotEqualTo(pOther);
    try (UpdateClient c = UpdateClient.connected(nodeA(), chat.id(), chat.key(), -1);
        DeviceTestClient d = device(nodeB(), alice, "phone")) {
      c.snapshot();
      status(d, PresenceStatus.ONLINE, "hi");
      List<Item> got = c.updates(1);
      assertThat(got.get(0).puid()).isEqualTo(pChat);
      assertThat(got.toString())
          .doesNotContain(alice)
          .doesNotContain("dev:")
          .doesNotContain(pOther);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshot and updates: no gap, no duplicate

  @Test
  void snapshotThenUpdates_underConcurrentChanges_noGapNoDuplicate_andTheEndStateIsTheTruth()
      throws Exception {
    App app = fx.activeApp(nodeA(), "Race");
    int users = 12;
    List<String> emails = new ArrayList<>();
    Map<String, String> puidOf = new HashMap<>();
    for (int i = 0; i < users; i++) {
      String e = fx.email("u" + i);
      emails.add(e);
      puidOf.put(e, fx.grant(nodeA(), e, app));
    }
    List<DeviceTestClient> devices = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      devices.add(device(i % 2 == 0 ? nodeA() : nodeB(), emails.get(i), "d"));
    }
    PresenceStatus[] cycle = {
      PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.UNAVAILABLE, PresenceStatus.OFFLINE
    };
    AtomicBoolean stop = new AtomicBoolean();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<Thread> senders = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      DeviceTestClient d = devices.get(i);
      int offset = i;
      Thread t =
          new Thread(
              () -> {
                try {
                  for (int n = offset; !stop.get(); n++) {
                    status(d, cycle[n % cycle.length], n % 3 == 0 ? "m" + (n % 5) : null);
                  }
                } catch (Throwable e) {
                  failures.add(e);
                }
              });
      t.start();
      senders.add(t);
    }
    List<UpdateClient> apps = new ArrayList<>();
    List<UpdateClient.Snapshot> snapshots = new ArrayList<>();
    try {
      for (int k = 0; k < 4; k++) {
        Thread.sleep(150);
        UpdateClient c =
            UpdateClient.connected(k % 2 == 0 ? nodeA() : nodeB(), app.id(), app.key(), -1);
        apps.add(c);
        snapshots.add(c.snapshot());
      }
      Thread.sleep(500);
    } finally {
      stop.set(true);
      for (Thread t : senders) {
        t.join(10_000);
      }
    }
    assertThat(failures).isEmpty();
    // The truth, once everything settled: a fresh connection's snapshot.
    Thread.sleep(QUIET.toMillis());
    Map<String, String> truth;
    try (UpdateClient fresh = UpdateClient.connected(nodeA(), app.id(), app.key(), -1)) {
      truth = view(fresh.snapshot().users());
    }
    for (int k = 0; k < apps.size(); k++) {
      UpdateClient c = apps.get(k);
      UpdateClient.Snapshot s = snapshots.get(k);
      List<Item> updates = c.drain(Duration.ofSeconds(2));
      Map<String, String> seen = view(s.users());
      long last = s.seq();
      for (Item u : updates) {
        assertThat(u.seq())
            .as("connection %d: numbers increase after the snapshot's", k)
            .isGreaterThan(last);
        last = u.seq();
        String before = seen.getOrDefault(u.puid(), "offline");
        String after = u.status() + (u.message() == null ? "" : ":" + u.message());
        assertThat(after)
            .as("connection %d: %s repeats what the app already had", k, u)
            .isNotEqualTo(before);
        if (u.status().equals("offline")) {
          seen.remove(u.puid());
        } else {
          seen.put(u.puid(), after);
        }
      }
      assertThat(seen).as("connection %d ends at the truth", k).isEqualTo(truth);
      c.close();
    }
    devices.forEach(DeviceTestClient::close);
  }

  private static Map<String, String> view(Map<String, Item> users) {
    Map<String, String> m = new HashMap<>();
    users.forEach((p, i) -> m.put(p, i.status() + (i.message() == null ? "" : ":" + i.message())));
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Resume

  @Test
  void resume_withSinceWithinTheHour_getsEveryUpdateAfterItInOrder_thenLiveOnes() {
    App app = fx.activeApp(nodeA(), "Resume");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    try (DeviceTestClient d = device(nodeA(), alice, "phone")) {
      long last;
      try (UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), -1)) {
        c.snapshot();
        status(d, PresenceStatus.ONLINE, null);
        last = c.updates(1).get(0).seq();
      }
      status(d, PresenceStatus.AWAY, "a");
      status(d, PresenceStatus.ONLINE, "b");
      status(d, PresenceStatus.UNAVAILABLE, "c");
      try (UpdateClient c = UpdateClient.connected(nodeB(), app.id(), app.key(), last)) {
        List<Item> missed = c.updates(3);
        assertThat(missed).extracting(Item::message).containsExactly("a", "b", "c");
        assertThat(missed).extracting(Item::seq).containsExactly(last + 1, last + 2, last + 3);
        assertThat(missed).extracting(Item::puid).containsOnly(pa);
        status(d, PresenceStatus.OFFLINE, null);
        assertThat(c.updates(1).get(0)).isEqualTo(new Item(pa, "offline", null, last + 4));
      }
    }
  }

  @Test
  void resume_withSinceTooOld_getsAFreshSnapshotFlaggedSo() {
    App app = fx.activeApp(nodeA(), "Stale");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    try (DeviceTestClient d = device(nodeA(), alice, "phone")) {
      long last;
      try (UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), -1)) {
        c.snapshot();
        status(d, PresenceStatus.ONLINE, "x");
        last = c.updates(1).get(0).seq();
      }
      long stale = staleSince(app.id(), last);
      try (UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), stale)) {
        UpdateClient.Snapshot s = c.snapshot();
        assertThat(s.fresh()).isTrue();
        assertThat(s.users()).containsOnlyKeys(pa);
        assertThat(s.users().get(pa).message()).isEqualTo("x");
        status(d, PresenceStatus.AWAY, null);
        assertThat(c.updates(1).get(0).status()).isEqualTo("away");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Bad input

  private static void assertClosedWith(UpdateClient c, ErrorCode code) {
    JsonNode err = c.next();
    assertThat(err).as("error frame").isNotNull();
    assertThat(err.path("result").asBoolean(true)).isFalse();
    assertThat(err.path("errno").asInt()).isEqualTo(code.errno());
    WsClient.Close close = c.awaitClose();
    assertThat(close.code()).isEqualTo(code.closeCode());
  }

  @Test
  void badKeyFrames_getTheirErrnoAndAClose() {
    App app = fx.activeApp(nodeA(), "Bad");
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendKey("wrong", -1);
      assertClosedWith(c, ErrorCode.INVALID_API_KEY);
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), 987_654_321L)) {
      c.sendKey(app.key(), -1);
      assertClosedWith(c, ErrorCode.UNKNOWN_APP);
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendText("{\"key\": ");
      assertClosedWith(c, ErrorCode.MALFORMED_JSON);
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendText("{\"key\": \"" + app.key() + "\", \"key\": \"" + app.key() + "\"}");
      JsonNode err = c.next();
      assertThat(err.path("errno").asInt()).isEqualTo(ErrorCode.DUPLICATE_FIELD.errno());
      assertThat(err.path("reason").asText()).isEqualTo("Duplicate field: key");
      assertThat(c.awaitClose().code()).isEqualTo(ErrorCode.DUPLICATE_FIELD.closeCode());
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendText("{\"since\": 3}");
      assertClosedWith(c, ErrorCode.MISSING_FIELD);
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendText("{\"key\": \"" + app.key() + "\", \"since\": \"yesterday\"}");
      assertClosedWith(c, ErrorCode.INVALID_SINCE);
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendKey(app.key(), 9_000_000_000_000_000L);
      assertClosedWith(c, ErrorCode.INVALID_SINCE);
    }
    try (UpdateClient c = UpdateClient.open(nodeA(), 99_999_999_999_999_999L / 10)) {
      c.sendKey(app.key(), -1);
      assertClosedWith(c, ErrorCode.UNKNOWN_APP);
    }
    // A regenerated key: the old one fails at once.
    String old = app.key();
    assertThat(app.dev().post("/api/apps/" + app.id() + "/key", null).statusCode()).isEqualTo(200);
    try (UpdateClient c = UpdateClient.open(nodeB(), app.id())) {
      c.sendKey(old, -1);
      assertClosedWith(c, ErrorCode.INVALID_API_KEY);
    }
  }

  @Test
  void aFrameOverTheLimit_failsTheConnection_andTextNotUtf8_failsItWith1007() throws Exception {
    App app = fx.activeApp(nodeA(), "Violations");
    try (RawWebSocket ws = RawWebSocket.connect(nodeA().port(), "/" + app.id())) {
      ws.sendText("{\"key\":\"" + "k".repeat(9_000) + "\"}");
      assertThat(ws.readText(WAIT, true))
          .contains("\"errno\":" + ErrorCode.FRAME_TOO_LARGE.errno());
      assertThat(ws.awaitClose(WAIT).closeCode()).isEqualTo(ErrorCode.FRAME_TOO_LARGE.closeCode());
    }
    // Text that is not UTF-8 fails the connection with 1007 (RFC 6455 §8.1), in the key frame
    // and after it (where frames are otherwise not read).
    try (RawWebSocket ws = RawWebSocket.connect(nodeA().port(), "/" + app.id())) {
      ws.send(RawWebSocket.TEXT, true, new byte[] {'{', '"', (byte) 0xC3, '"', '}'});
      assertThat(ws.readText(WAIT, true)).contains("\"errno\":" + ErrorCode.INVALID_UTF8.errno());
      assertThat(ws.awaitClose(WAIT).closeCode()).isEqualTo(1007);
    }
    try (RawWebSocket ws = RawWebSocket.connect(nodeA().port(), "/" + app.id())) {
      ws.sendText("{\"key\":\"" + app.key() + "\"}");
      assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
      assertThat(ws.readText(WAIT, true)).contains("\"snapshot\"");
      ws.send(RawWebSocket.TEXT, true, new byte[] {'{', '"', (byte) 0xC3, '"', '}'});
      assertThat(ws.readText(WAIT, true)).contains("\"errno\":" + ErrorCode.INVALID_UTF8.errno());
      assertThat(ws.awaitClose(WAIT).closeCode()).isEqualTo(1007);
    }
  }

  @Test
  void closeFramesWithACodeNoPeerMaySend_failTheConnection_beforeAndAfterTheKey() throws Exception {
    App app = fx.activeApp(nodeA(), "Close");
    // RFC 6455 §7.4: 0-999, 1004-1006 and 1015 are never sent, 1016-2999 are reserved, and
    // nothing above 4999 is a close code. Netty's decoder refuses some of these itself; the rest
    // must fail the same way.
    for (int code : new int[] {999, 1015, 2999, 5000, 65535}) {
      for (boolean keyed : new boolean[] {false, true}) {
        try (RawWebSocket ws = RawWebSocket.connect(nodeA().port(), "/" + app.id())) {
          if (keyed) {
            ws.sendText("{\"key\":\"" + app.key() + "\"}");
            assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
          }
          ws.send(RawWebSocket.CLOSE, true, new byte[] {(byte) (code >> 8), (byte) code});
          String error = null;
          for (String t = ws.readText(WAIT, true); t != null; t = ws.readText(WAIT, true)) {
            if (t.contains("\"errno\"")) {
              error = t;
              break;
            }
          }
          assertThat(error)
              .as("close code %d, keyed %s", code, keyed)
              .contains("\"errno\":" + ErrorCode.HANDSHAKE_FAILED.errno());
          RawWebSocket.Frame close = ws.awaitClose(WAIT);
          assertThat(close).isNotNull();
          assertThat(close.closeCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED.closeCode());
        }
      }
    }
    // 3000-4999 are the applications' own: echoed like any close.
    try (RawWebSocket ws = RawWebSocket.connect(nodeA().port(), "/" + app.id())) {
      ws.send(RawWebSocket.CLOSE, true, new byte[] {(byte) (4999 >> 8), (byte) 4999});
      RawWebSocket.Frame close = ws.awaitClose(WAIT);
      assertThat(close).isNotNull();
      assertThat(close.closeCode()).isEqualTo(4999);
      assertThat(ws.ended(WAIT)).isTrue();
    }
  }

  @Test
  void inactiveApp_isRefused_andAnOpenChannelKeepsWorkingForOthers() {
    App app = fx.activeApp(nodeA(), "Gone");
    App other = fx.activeApp(nodeA(), "Stays");
    String alice = fx.email("alice");
    fx.grant(nodeA(), alice, other);
    assertThat(app.dev().post("/api/apps/" + app.id() + "/deactivate", null).statusCode())
        .isEqualTo(200);
    try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
      c.sendKey(app.key(), -1);
      assertClosedWith(c, ErrorCode.APP_NOT_ACTIVE);
    }
    try (UpdateClient c = UpdateClient.connected(nodeA(), other.id(), other.key(), -1);
        DeviceTestClient d = device(nodeA(), alice, "p")) {
      c.snapshot();
      c.sendText("{\"key\":\"again\"}");
      JsonNode answer = c.next();
      assertThat(answer.path("errno").asInt()).isEqualTo(ErrorCode.ALREADY_CONNECTED.errno());
      status(d, PresenceStatus.ONLINE, null);
      assertThat(c.updates(1)).hasSize(1);
    }
  }

  @Test
  void tooManyConnectionsOfOneApp_theExtraOneIsRefused() {
    App app = fx.activeApp(nodeA(), "Many");
    List<UpdateClient> open = new ArrayList<>();
    try {
      for (int i = 0; i < 16; i++) {
        UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), -1);
        open.add(c);
        c.snapshot();
      }
      try (UpdateClient c = UpdateClient.open(nodeA(), app.id())) {
        c.sendKey(app.key(), -1);
        assertClosedWith(c, ErrorCode.TOO_MANY_APP_CONNECTIONS);
      }
    } finally {
      open.forEach(UpdateClient::close);
    }
    await().atMost(WAIT).until(() -> nodeA().server().updates().connections(app.id()) == 0);
  }

  // ---------------------------------------------------------------------------------------------
  // Pause, resume, revoke

  @Test
  void pauseResumeRevoke_takeEffectAtOnce_acrossNodes() {
    App app = fx.activeApp(nodeA(), "Control");
    String alice = fx.email("alice");
    String bob = fx.email("bob");
    String pa = fx.grant(nodeA(), alice, app);
    String pb = fx.grant(nodeA(), bob, app);
    try (DeviceTestClient da = device(nodeB(), alice, "phone");
        DeviceTestClient db = device(nodeB(), bob, "phone");
        UpdateClient c = UpdateClient.connected(nodeB(), app.id(), app.key(), -1)) {
      c.snapshot();
      status(da, PresenceStatus.ONLINE, "here");
      assertThat(c.updates(1).get(0).puid()).isEqualTo(pa);

      // Paused on node A while the device and the app are on node B: offline, then nothing.
      fx.setEnabled(nodeA(), alice, pa, false);
      assertThat(c.updates(1).get(0))
          .extracting(Item::puid, Item::status)
          .containsExactly(pa, "offline");
      status(da, PresenceStatus.AWAY, "hidden");
      status(db, PresenceStatus.ONLINE, null);
      List<Item> after = c.updates(1);
      assertThat(after).extracting(Item::puid).containsOnly(pb);
      assertThat(c.drain(QUIET)).extracting(Item::puid).doesNotContain(pa);

      // Resumed: the user's current presence at once.
      fx.setEnabled(nodeA(), alice, pa, true);
      Item resumed = c.updates(1).get(0);
      assertThat(resumed.puid()).isEqualTo(pa);
      assertThat(resumed.status()).isEqualTo("away");
      assertThat(resumed.message()).isEqualTo("hidden");
      status(da, PresenceStatus.ONLINE, null);
      assertThat(c.updates(1).get(0))
          .extracting(Item::puid, Item::status)
          .containsExactly(pa, "online");

      // Revoked: offline, then nothing ever again for that PUID.
      fx.revoke(nodeA(), alice, pa);
      assertThat(c.updates(1).get(0))
          .extracting(Item::puid, Item::status)
          .containsExactly(pa, "offline");
      status(da, PresenceStatus.AWAY, null);
      status(da, PresenceStatus.ONLINE, "again");
      assertThat(c.drain(QUIET)).isEmpty();
      try (UpdateClient again = UpdateClient.connected(nodeA(), app.id(), app.key(), -1)) {
        assertThat(again.snapshot().users()).doesNotContainKey(pa);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Receipts

  @Test
  void receipts_publishedOnTheBus_reachTheAppsConnections_batched() throws Exception {
    App app = fx.activeApp(nodeA(), "Receipts");
    App other = fx.activeApp(nodeA(), "NotMine");
    try (UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), -1);
        UpdateClient o = UpdateClient.connected(nodeA(), other.id(), other.key(), -1)) {
      c.snapshot();
      o.snapshot();
      var bus = nodeB().server().store().bus();
      for (String state : new String[] {"delivered", "acted", "dismissed", "missed"}) {
        String r =
            "{\"id\":\"n-"
                + state
                + "\",\"UID\":\"p1\",\"state\":\""
                + state
                + "\",\"at\":1700000000000}";
        bus.publish("receipts:" + app.id(), r.getBytes(StandardCharsets.UTF_8))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
      }
      bus.publish("receipts:" + app.id(), "not json".getBytes(StandardCharsets.UTF_8))
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      List<JsonNode> got = c.receipts(4);
      assertThat(got)
          .extracting(n -> n.path("state").asText())
          .containsExactly("delivered", "acted", "dismissed", "missed");
      assertThat(got.get(0).path("id").asText()).isEqualTo("n-delivered");
      assertThat(got.get(0).path("UID").asText()).isEqualTo("p1");
      assertThat(got.get(0).path("at").asLong()).isEqualTo(1700000000000L);
      assertThat(o.next(QUIET)).isNull();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The stream

  @Test
  void stream_snapshotThenUpdates_asLinesOfJson_andSinceAndErrorsAsHttp() throws Exception {
    App app = fx.activeApp(nodeA(), "Stream");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest req =
        HttpRequest.newBuilder(nodeB().uri("/" + app.id() + "/presence.json"))
            .header("Authorization", "Bearer " + app.key())
            .build();
    HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("application/x-ndjson"));
    long last;
    try (BufferedReader lines =
            new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        DeviceTestClient d = device(nodeA(), alice, "phone")) {
      JsonNode snap = UpdatesFixture.JSON.readTree(lines.readLine());
      assertThat(snap.path("done").asBoolean()).isTrue();
      status(d, PresenceStatus.ONLINE, "streamed");
      JsonNode upd = UpdatesFixture.JSON.readTree(nextNonEmpty(lines));
      assertThat(upd.isArray()).isTrue();
      assertThat(upd.get(0).path("UID").asText()).isEqualTo(pa);
      assertThat(upd.get(0).path("message").asText()).isEqualTo("streamed");
      last = upd.get(0).path("seq").asLong();
      status(d, PresenceStatus.AWAY, null);
      JsonNode upd2 = UpdatesFixture.JSON.readTree(nextNonEmpty(lines));
      assertThat(upd2.get(0).path("seq").asLong()).isEqualTo(last + 1);
    }
    // Resume by query parameter.
    HttpResponse<InputStream> resumed =
        http.send(
            HttpRequest.newBuilder(nodeA().uri("/" + app.id() + "/presence.json?since=" + last))
                .header("Authorization", "Bearer " + app.key())
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(resumed.body(), StandardCharsets.UTF_8))) {
      JsonNode upd = UpdatesFixture.JSON.readTree(nextNonEmpty(lines));
      assertThat(upd.get(0).path("status").asText()).isEqualTo("away");
      assertThat(upd.get(0).path("seq").asLong()).isEqualTo(last + 1);
    }
    // Errors before the stream: HTTP status and the JSON error body.
    assertStreamError(http, app.id(), null, null, 401, ErrorCode.UNAUTHORIZED);
    assertStreamError(http, app.id(), "nope", null, 401, ErrorCode.INVALID_API_KEY);
    assertStreamError(http, app.id(), app.key(), "abc", 400, ErrorCode.INVALID_SINCE);
    assertStreamError(http, app.id(), app.key(), "8000000000000000", 400, ErrorCode.INVALID_SINCE);
    assertStreamError(http, 555_555_555L, app.key(), null, 404, ErrorCode.UNKNOWN_APP);
  }

  private static String nextNonEmpty(BufferedReader lines) throws Exception {
    String l;
    do {
      l = lines.readLine();
    } while (l != null && l.isEmpty());
    return l;
  }

  private void assertStreamError(
      HttpClient http, long appId, String key, String since, int status, ErrorCode code)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(
            nodeA().uri("/" + appId + "/presence.json" + (since == null ? "" : "?since=" + since)));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(status);
    assertThat(UpdatesFixture.JSON.readTree(r.body()).path("errno").asInt())
        .isEqualTo(code.errno());
  }

  @Test
  void deactivation_endsTheAppsConnectionsOnEveryNode_atOnce() throws Exception {
    App app = fx.activeApp(nodeA(), "Deactivated");
    try (UpdateClient there = UpdateClient.connected(nodeB(), app.id(), app.key(), -1)) {
      there.snapshot();
      var off = app.dev().post("/api/apps/" + app.id() + "/deactivate", null);
      assertThat(off.statusCode()).as(off.body()).isEqualTo(200);
      JsonNode frame = there.next(WAIT);
      assertThat(frame).as("an error frame").isNotNull();
      assertThat(frame.path("errno").asInt()).isEqualTo(ErrorCode.APP_NOT_ACTIVE.errno());
      assertThat(there.awaitClose().code()).isEqualTo(ErrorCode.APP_NOT_ACTIVE.closeCode());
    }
  }

  @Test
  void regeneratedKey_endsTheConnectionsOpenedWithTheOldKeyOnEveryNode_notThoseWithTheNewOne()
      throws Exception {
    App app = fx.activeApp(nodeA(), "Regenerated");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<InputStream> r =
        http.send(
            HttpRequest.newBuilder(nodeB().uri("/" + app.id() + "/presence.json"))
                .header("Authorization", "Bearer " + app.key())
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    try (BufferedReader oldStream =
            new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        UpdateClient oldSocket = UpdateClient.connected(nodeB(), app.id(), app.key(), -1)) {
      assertThat(UpdatesFixture.JSON.readTree(oldStream.readLine()).path("done").asBoolean())
          .isTrue();
      oldSocket.snapshot();

      var regenerated = app.dev().post("/api/apps/" + app.id() + "/key", null);
      assertThat(regenerated.statusCode()).as(regenerated.body()).isEqualTo(200);
      String newKey = UpdatesFixture.json(regenerated).get("api_key").asText();
      // The developer reconnects at once with the new key (on the node that made it, which knows
      // the new key when it answers).
      try (UpdateClient fresh = UpdateClient.connected(nodeA(), app.id(), newKey, -1)) {
        fresh.snapshot();

        // The socket opened with the old key gets the error frame, then the close.
        JsonNode frame = oldSocket.next(WAIT);
        assertThat(frame).as("an error frame").isNotNull();
        assertThat(frame.path("result").asBoolean(true)).isFalse();
        assertThat(frame.path("errno").asInt()).isEqualTo(ErrorCode.INVALID_API_KEY.errno());
        assertThat(oldSocket.awaitClose().code()).isEqualTo(ErrorCode.INVALID_API_KEY.closeCode());
        // The stream opened with the old key ends (its last chunk): nothing but heartbeats before.
        var rest =
            java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                  List<String> lines = new ArrayList<>();
                  try {
                    String l;
                    while ((l = oldStream.readLine()) != null) {
                      lines.add(l);
                    }
                  } catch (java.io.IOException e) {
                    lines.add("closed: " + e);
                  }
                  return lines;
                });
        assertThat(rest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).allMatch(String::isEmpty);

        // A late or repeated change event (as another node may hear it after the reconnect) leaves
        // the connection with the current key alone, and it still gets every update.
        nodeA()
            .server()
            .appFeatures()
            .invalidations()
            .publish(org.presence.gateway.app.AppCache.KIND, Long.toString(app.id()))
            .toCompletableFuture()
            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        try (DeviceTestClient d = device(nodeA(), alice, "phone")) {
          status(d, PresenceStatus.ONLINE, "after the new key");
          List<Item> got = fresh.updates(1);
          assertThat(got.get(0).puid()).isEqualTo(pa);
          assertThat(got.get(0).message()).isEqualTo("after the new key");
        }
        assertThat(fresh.drain(QUIET)).allMatch(i -> i.puid().equals(pa));
      }
    }
    // And the old key opens nothing any more, here or there.
    try (UpdateClient c = UpdateClient.open(nodeB(), app.id())) {
      c.sendKey(app.key(), -1);
      assertClosedWith(c, ErrorCode.INVALID_API_KEY);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Webhooks

  @Test
  void webhook_batchesAtMostOncePerInterval_coalescesPerPuid_andIsSigned() throws Exception {
    App app = fx.activeApp(nodeA(), "Hook");
    try (WebhookStub hook = WebhookStub.start()) {
      String secret = fx.webhook(app, hook.url("/hook"));
      String alice = fx.email("alice");
      String bob = fx.email("bob");
      String pa = fx.grant(nodeA(), alice, app);
      String pb = fx.grant(nodeA(), bob, app);
      try (DeviceTestClient da = device(nodeA(), alice, "phone");
          DeviceTestClient db = device(nodeB(), bob, "phone")) {
        status(da, PresenceStatus.ONLINE, null);
        await().atMost(WAIT).until(() -> hook.calls().size() >= 1);
        // Many changes within one interval: the next call has the latest per user.
        for (int i = 0; i < 5; i++) {
          status(da, i % 2 == 0 ? PresenceStatus.AWAY : PresenceStatus.ONLINE, null);
          status(db, i % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.UNAVAILABLE, null);
        }
        await().atMost(WAIT).until(() -> lastState(hook).equals(Map.of(pa, "away", pb, "online")));
      }
      List<WebhookStub.Call> calls = hook.calls();
      for (WebhookStub.Call call : calls) {
        assertThat(call.method()).isEqualTo("POST");
        assertThat(call.header("Content-Type")).startsWith("application/json");
        assertThat(
                WebhookSignature.verify(
                    secret,
                    call.header(WebhookDispatcher.DELIVERY_HEADER),
                    call.body(),
                    call.header(WebhookSignature.HEADER)))
            .as("signature of %s", call.text())
            .isTrue();
        JsonNode body = UpdatesFixture.JSON.readTree(call.body());
        List<String> puids = new ArrayList<>();
        body.forEach(
            pair -> {
              assertThat(pair.size()).isEqualTo(2);
              puids.add(pair.get(0).asText());
            });
        assertThat(puids).as("one entry per user in a call").doesNotHaveDuplicates();
      }
      assertSpaced(calls, 1000);
      assertThat(calls.size()).as("11 changes, at most a few calls").isLessThanOrEqualTo(4);
      assertThat(
              WebhookSignature.verify(
                  "not the secret",
                  calls.get(0).header(WebhookDispatcher.DELIVERY_HEADER),
                  calls.get(0).body(),
                  calls.get(0).header(WebhookSignature.HEADER)))
          .isFalse();
    }
  }

  /** The latest status per PUID over the successful calls so far, in call order. */
  static Map<String, String> lastState(WebhookStub hook) {
    Map<String, String> state = new HashMap<>();
    for (WebhookStub.Call c : hook.calls()) {
      if (!c.ok()) {
        continue;
      }
      try {
        UpdatesFixture.JSON
            .readTree(c.body())
            .forEach(p -> state.put(p.get(0).asText(), p.get(1).asText()));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    return state;
  }

  /** Calls at least {@code ms} apart (less a small margin for when they were received). */
  static void assertSpaced(List<WebhookStub.Call> calls, long ms) {
    for (int i = 1; i < calls.size(); i++) {
      assertThat(calls.get(i).atMillis() - calls.get(i - 1).atMillis())
          .as("gap before call %d", i)
          .isGreaterThanOrEqualTo(ms - 150);
    }
  }

  @Test
  void webhook_failuresAreRetriedWithBackoff_andNothingIsLost_whileOtherAppsAreUnaffected() {
    App bad = fx.activeApp(nodeA(), "Flaky");
    App good = fx.activeApp(nodeA(), "Steady");
    try (WebhookStub flaky = WebhookStub.start();
        WebhookStub steady = WebhookStub.start()) {
      // A server error, a hang past the timeout, a redirect and a huge body: each fails the call.
      flaky.then(
          WebhookStub.Behaviour.status(503),
          WebhookStub.Behaviour.hang(4000),
          WebhookStub.Behaviour.redirect(flaky.url("/elsewhere")),
          WebhookStub.Behaviour.hugeBody(1_000_000));
      fx.webhook(bad, flaky.url("/hook"));
      fx.webhook(good, steady.url("/hook"));
      String alice = fx.email("alice");
      String pBad = fx.grant(nodeA(), alice, bad);
      String pGood = fx.grant(nodeA(), alice, good);
      try (DeviceTestClient d = device(nodeA(), alice, "phone")) {
        status(d, PresenceStatus.ONLINE, null);
        await().atMost(WAIT).until(() -> lastState(steady).equals(Map.of(pGood, "online")));
        status(d, PresenceStatus.AWAY, null);
        // The steady app is served on time while the flaky one fails.
        await().atMost(WAIT).until(() -> lastState(steady).equals(Map.of(pGood, "away")));
        assertThat(lastState(flaky)).doesNotContainKey(pBad);
        await().atMost(Duration.ofSeconds(40)).until(() -> flaky.calls().size() >= 5);
        // The fifth call succeeds with everything since the last success, the latest per user.
        await().atMost(WAIT).until(() -> lastState(flaky).equals(Map.of(pBad, "away")));
      }
      List<WebhookStub.Call> calls = flaky.calls();
      assertThat(calls.stream().map(WebhookStub.Call::text).toList().subList(0, 4))
          .as("every failed call is retried with the same updates")
          .allMatch(t -> t.contains(pBad));
      assertThat(calls).as("the redirect is not followed").allMatch(c -> c.path().equals("/hook"));
      assertSpaced(calls, 1000);
      // Backoff: the waits grow.
      assertThat(calls.get(3).atMillis() - calls.get(2).atMillis())
          .isGreaterThan(calls.get(1).atMillis() - calls.get(0).atMillis());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Backpressure

  @Test
  void stalledConsumer_staysBounded_catchesUpFromTheLogInOrder_andOtherAppsAreUnaffected()
      throws Exception {
    App slow = fx.activeApp(nodeA(), "Slow");
    App fast = fx.activeApp(nodeA(), "Fast");
    int users = 6;
    List<DeviceTestClient> devices = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      String e = fx.email("u" + i);
      fx.grant(nodeA(), e, slow);
      fx.grant(nodeA(), e, fast);
      devices.add(device(i % 2 == 0 ? nodeA() : nodeB(), e, "d"));
    }
    var high = nodeA().server().config().gateway().writeBufferHigh();
    try (RawWebSocket stalled = RawWebSocket.connect(nodeA().port(), "/" + slow.id(), 2048);
        UpdateClient other = UpdateClient.connected(nodeB(), fast.id(), fast.key(), -1)) {
      stalled.sendText("{\"key\":\"" + slow.key() + "\"}");
      assertThat(stalled.readText(WAIT, true)).isEqualTo("{\"result\":true}");
      JsonNode snap = UpdatesFixture.JSON.readTree(stalled.readText(WAIT, true));
      long from = snap.path("seq").asLong();
      other.snapshot();
      String pad = "x".repeat(120);
      int rounds = 400;
      for (int n = 0; n < rounds; n++) {
        for (int i = 0; i < users; i++) {
          status(devices.get(i), PresenceStatus.ONLINE, pad.substring(0, 100 + (n % 20)) + n);
        }
      }
      int total = rounds * users;
      // The other app gets everything while the stalled one reads nothing.
      List<Item> fastGot = other.updates(total);
      assertThat(fastGot).hasSize(total);
      var updates = nodeA().server().updates();
      await()
          .atMost(WAIT)
          .until(() -> updates.stats(slow.id()).stream().anyMatch(s -> !s.writable()));
      for (AppUpdates.ConsumerStats s : updates.stats(slow.id())) {
        assertThat(s.pendingBytes())
            .as("outbound bytes held for the stalled consumer")
            .isLessThanOrEqualTo(high + 256 * 1024);
        assertThat(s.cursor()).as("nothing more is taken for it").isLessThan(from + total);
      }
      assertThat(updates.buffered(slow.id()))
          .isLessThanOrEqualTo(nodeA().server().config().updates().bufferSize());
      // Now it reads: every update after the snapshot, in order, without a gap.
      long expect = from + 1;
      while (expect <= from + total) {
        String t = stalled.readText(WAIT, true);
        assertThat(t).as("frame after %d", expect - 1).isNotNull();
        JsonNode f = UpdatesFixture.JSON.readTree(t);
        assertThat(f.isArray()).isTrue();
        for (JsonNode item : f) {
          assertThat(item.path("seq").asLong()).isEqualTo(expect);
          expect++;
        }
      }
    } finally {
      devices.forEach(DeviceTestClient::close);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Draining

  @Test
  void drainingNode_endsItsStreamsAndSocketsPolitely() throws Exception {
    TestNode c = startNode();
    App app = fx.activeApp(c, "Drain");
    var http = java.net.http.HttpClient.newHttpClient();
    var stream =
        http.sendAsync(
            java.net.http.HttpRequest.newBuilder(c.uri("/" + app.id() + "/presence.json"))
                .header("Authorization", "Bearer " + app.key())
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    UpdateClient ws = UpdateClient.connected(c, app.id(), app.key(), -1);
    ws.snapshot();
    await().atMost(WAIT).until(() -> c.server().updates().connections(app.id()) == 2);
    c.close();
    var done = stream.get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(done.body()).contains("\"snapshot\"");
    assertThat(ws.awaitClose().code()).isEqualTo(1001);
  }

  // ---------------------------------------------------------------------------------------------
  // The user's own messages (settings): custom status and away message

  /** {@code email} saves a custom status and an away message through {@code PUT /api/settings}. */
  private static void saveMessages(TestNode node, String email, String custom, String away) {
    java.net.http.HttpResponse<String> r =
        org.presence.gateway.testing.ApiClient.forEmail(node, email)
            .put(
                "/api/settings",
                "{\"custom_status\":\"" + custom + "\",\"away_message\":\"" + away + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  @Test
  void userMessages_statusWithoutMessage_carriesCustomStatusOrAwayMessage_ownMessageWins() {
    App app = fx.activeApp(nodeA(), "Messages");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    saveMessages(nodeA(), alice, "At my desk", "Back soon");
    try (UpdateClient c = UpdateClient.connected(nodeB(), app.id(), app.key(), -1);
        DeviceTestClient d = device(nodeA(), alice, "phone")) {
      c.snapshot();
      status(d, PresenceStatus.ONLINE, null);
      status(d, PresenceStatus.AWAY, null);
      status(d, PresenceStatus.UNAVAILABLE, "");
      status(d, PresenceStatus.ONLINE, "lunch");
      // Its own message equal to the away message: what the app sees does not change.
      status(d, PresenceStatus.AWAY, null);
      status(d, PresenceStatus.AWAY, "Back soon");
      status(d, PresenceStatus.OFFLINE, null);
      List<Item> got = new ArrayList<>(c.updates(6));
      got.addAll(c.drain(QUIET));
      assertThat(got)
          .extracting(i -> i.puid() + " " + i.status() + ":" + i.message())
          .containsExactly(
              pa + " online:At my desk",
              pa + " away:Back soon",
              pa + " unavailable:Back soon",
              pa + " online:lunch",
              pa + " away:Back soon",
              pa + " offline:null");
    }
  }

  @Test
  void userMessages_changedWhileOnline_appsGetTheNewMessageAtOnce_devicesGetASettingsFrame() {
    App app = fx.activeApp(nodeA(), "Reannounce");
    String alice = fx.email("alice");
    String pa = fx.grant(nodeA(), alice, app);
    saveMessages(nodeA(), alice, "At my desk", "Back soon");
    try (UpdateClient c = UpdateClient.connected(nodeB(), app.id(), app.key(), -1);
        DeviceTestClient onB = device(nodeB(), alice, "laptop");
        DeviceTestClient onA = device(nodeA(), alice, "phone")) {
      c.snapshot();
      status(onB, PresenceStatus.ONLINE, null);
      assertThat(c.updates(1))
          .extracting(Item::puid, Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(pa, "online", "At my desk"));

      // Changed on node A; the app (node B) sees it at once, each device gets the new settings.
      saveMessages(nodeA(), alice, "Coding", "Back soon");
      assertThat(c.updates(1))
          .extracting(Item::puid, Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(pa, "online", "Coding"));
      for (DeviceTestClient d : List.of(onA, onB)) {
        org.presence.protocol.device.DeviceMessage.Settings s = d.settings(WAIT);
        assertThat(s).as("settings frame").isNotNull();
        assertThat(s.customStatus()).isEqualTo("Coding");
        assertThat(s.awayMessage()).isEqualTo("Back soon");
        assertThat(s.onlineWithinMinutes()).isEqualTo(5);
        assertThat(s.awayAfterMinutes()).isEqualTo(10);
        assertThat(s.offlineAfterMinutes()).isEqualTo(25);
      }

      // Only the away message changes while online: the devices hear of it, the app sees nothing.
      saveMessages(nodeA(), alice, "Coding", "Gone fishing");
      assertThat(onB.settings(WAIT).awayMessage()).isEqualTo("Gone fishing");
      assertThat(onA.settings(WAIT).awayMessage()).isEqualTo("Gone fishing");
      assertThat(c.drain(QUIET)).isEmpty();
      // The new away message is the one the next away carries, from either node.
      status(onB, PresenceStatus.AWAY, null);
      assertThat(c.updates(1))
          .extracting(Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("away", "Gone fishing"));
      // Cleared: the status carries no message any more.
      saveMessages(nodeB(), alice, "Coding", "");
      assertThat(c.updates(1))
          .extracting(Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("away", null));
    }
  }

  @Test
  void userMessages_firstSavedOnOneNode_whileTheOtherKnowsTheUserHasNone_reachesTheOther() {
    // Both nodes know who has settings: a user without any is answered the defaults, unread.
    for (TestNode n : List.of(nodeA(), nodeB())) {
      await().atMost(WAIT).until(() -> n.server().appFeatures().settings().knowsStoredUsers());
    }
    App app = fx.activeApp(nodeA(), "FirstSave");
    String carol = fx.email("carol");
    String pc = fx.grant(nodeA(), carol, app);
    try (UpdateClient c = UpdateClient.connected(nodeA(), app.id(), app.key(), -1);
        DeviceTestClient onB = device(nodeB(), carol, "laptop")) {
      c.snapshot();
      status(onB, PresenceStatus.ONLINE, null);
      assertThat(c.updates(1))
          .extracting(Item::puid, Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(pc, "online", null));

      // Her first save, on node A: node B learns she has settings, and its session hears them.
      saveMessages(nodeA(), carol, "Writing", "Out");
      assertThat(c.updates(1))
          .extracting(Item::puid, Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(pc, "online", "Writing"));
      org.presence.protocol.device.DeviceMessage.Settings s = onB.settings(WAIT);
      assertThat(s).as("settings frame").isNotNull();
      assertThat(s.customStatus()).isEqualTo("Writing");
      status(onB, PresenceStatus.AWAY, null);
      assertThat(c.updates(1))
          .extracting(Item::status, Item::message)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("away", "Out"));
      // A new session on node B reads them too.
      try (DeviceTestClient again = device(nodeB(), carol, "phone")) {
        status(again, PresenceStatus.ONLINE, null);
        assertThat(c.updates(1))
            .extracting(Item::status, Item::message)
            .containsExactly(org.assertj.core.groups.Tuple.tuple("online", "Writing"));
      }
    }
  }
}
