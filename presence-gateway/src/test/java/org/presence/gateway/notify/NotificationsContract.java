package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.presence.gateway.testing.NotifyFixture.ack;
import static org.presence.gateway.testing.NotifyFixture.batch;
import static org.presence.gateway.testing.NotifyFixture.item;
import static org.presence.gateway.testing.NotifyFixture.json;
import static org.presence.gateway.testing.NotifyFixture.post;
import static org.presence.gateway.testing.NotifyFixture.sub;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.NotifyFixture.ReceiptRecorder;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.api.NotificationBatchCodec.Ack;
import org.presence.protocol.api.NotificationBatchCodec.ItemResult;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Acknowledge;
import org.presence.protocol.device.DeviceMessage.Dismiss;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.device.DeviceMessage.Notifications;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.queue.Notification;

/**
 * Live notifications end to end, over real sockets (wiki section 6): applications made through the
 * JSON API post batches over HTTP, devices receive them on the device channel, answer them, and
 * receipts appear on the bus. Runs on the embedded default ({@code NotificationsTest}, one node)
 * and on a two-node cluster over PostgreSQL and Redis ({@code NotificationsIT}), where {@link
 * #nodeB()} is the second node: items posted to one node reach devices on the other.
 */
public abstract class NotificationsContract {
  /** Well within the time anything should take. */
  protected static final Duration WAIT = Duration.ofSeconds(15);

  /** How long a test watches for something that must not happen. */
  protected static final Duration QUIET = Duration.ofMillis(800);

  /** The grace period of the test nodes: long enough to post while a closed device still counts. */
  protected static final String GRACE = "3s";

  private static DomainStub site;
  private final Map<Long, String> owners = new java.util.concurrent.ConcurrentHashMap<>();

  /** The node most tests post to. */
  protected abstract TestNode nodeA();

  /** Another node of the same deployment (the same node in the embedded default). */
  protected abstract TestNode nodeB();

  /** Starts a node of the same deployment with {@code overrides}; the test closes it. */
  protected abstract TestNode startNode(Map<String, String> overrides);

  /** Settings every test node uses. */
  protected static Map<String, String> notifySettings() {
    Map<String, String> s = new HashMap<>();
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.offline-grace", GRACE);
    s.put("device.rate", "1000");
    s.put("device.burst", "1000");
    s.put("device.handshake-rate", "0");
    s.put("notifications.rate", "100000");
    s.put("notifications.burst", "100000");
    s.put("notifications.max-body-bytes", "1m");
    return s;
  }

  @BeforeAll
  static void startSite() {
    site = DomainStub.start();
  }

  @AfterAll
  static void stopSite() {
    if (site != null) {
      site.close();
    }
  }

  private static String email(String who) {
    return who + "-" + UUID.randomUUID() + "@example.com";
  }

  private App app(String name) {
    return app(nodeA(), name);
  }

  private App app(TestNode node, String name) {
    String dev = email("dev");
    App app = org.presence.gateway.testing.NotifyFixture.activeApp(node, site, dev, name);
    owners.put(app.id(), dev);
    return app;
  }

  private static String grant(TestNode node, String email, long appId) {
    return org.presence.gateway.testing.NotifyFixture.grant(node, email, appId);
  }

  private static DeviceTestClient device(TestNode node, String email, String device) {
    return DeviceTestClient.connected(node, node.token(email), null, device);
  }

  private static <T> T done(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private List<Notification> pending(String email) {
    return done(nodeA().server().store().notifications().pending(sub(email)));
  }

  private static List<String> ids(Ack ack) {
    return ack.results().stream().map(ItemResult::id).toList();
  }

  private static List<String> messages(List<LiveNotification> items) {
    return items.stream().map(LiveNotification::message).toList();
  }

  // ---------------------------------------------------------------------------------------------
  // Posting: the ack, per-item results, the FIFO bound

  @Test
  void post_thenAckCarriesQueueSizeAndOneResultPerItem() {
    App app = app("Acker");
    String marge = email("marge");
    String puid = grant(nodeA(), marge, app.id());

    Ack one = ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "first"))));
    assertThat(one.result()).isEqualTo("OK");
    assertThat(one.queueSize()).isEqualTo(1);
    assertThat(one.results())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.isStored()).isTrue();
              assertThat(r.id()).matches("[A-Za-z0-9_-]{22}");
              assertThat(r.queueSize()).isEqualTo(1);
            });

    Ack three =
        ack(
            post(
                nodeA(),
                app.id(),
                app.key(),
                batch(item(puid, "second"), item(puid, "third"), item(puid, "fourth"))));
    assertThat(three.result()).isEqualTo("OK");
    assertThat(three.results()).extracting(ItemResult::queueSize).containsExactly(2, 3, 4);
    assertThat(three.queueSize()).isEqualTo(4);
    assertThat(new HashSet<>(ids(three))).hasSize(3).doesNotContain(one.results().get(0).id());

    List<Notification> queued = pending(marge);
    assertThat(queued)
        .extracting(Notification::message)
        .containsExactly("first", "second", "third", "fourth");
    assertThat(queued)
        .allSatisfy(
            n -> {
              assertThat(n.appId()).isEqualTo(app.id());
              assertThat(n.source()).isEqualTo("Acker");
              assertThat(n.puid()).isEqualTo(puid);
              assertThat(n.expiresAt()).isEqualTo(n.createdAt().plusSeconds(60));
            });
  }

  @Test
  void post_whenItemsBadAndGood_thenEachJudgedAloneAndGoodOnesStored() {
    App app = app("Judge");
    App other = app("Other");
    String homer = email("homer");
    String puid = grant(nodeA(), homer, app.id());
    String otherAppsPuid = grant(nodeA(), email("bart"), other.id());
    String paused = grant(nodeA(), email("lisa"), app.id());
    String revoked = grant(nodeA(), email("maggie"), app.id());
    pauseAndRevoke(app.id(), paused, revoked);

    HttpResponse<String> r =
        post(
            nodeA(),
            app.id(),
            app.key(),
            batch(
                item(puid, "good one"),
                "{\"UID\":\"" + puid + "\",\"message\":\"\",\"action\":\"https://x.example\"}",
                item("not-a-puid", "x"),
                item("q1Yc0XGmYHnX3Gc6Xv7R8Tz0aBcDeFgHiJkLmNoPqRs", "unknown puid"),
                item(otherAppsPuid, "another app's user"),
                item(paused, "paused"),
                item(revoked, "revoked"),
                "{\"UID\":\"" + puid + "\",\"message\":\"m\",\"action\":\"javascript:alert(1)\"}",
                "{\"UID\":\""
                    + puid
                    + "\",\"message\":\"bell\\u0007\",\"action\":\"https://x.example\"}",
                "17",
                item(puid, "good two")));
    Ack a = ack(r);
    assertThat(a.result()).isEqualTo("PARTIAL");
    assertThat(a.results())
        .extracting(ItemResult::errno)
        .containsExactly(
            0,
            ErrorCode.INVALID_NOTIFICATION.errno(),
            ErrorCode.UNKNOWN_PUID.errno(),
            ErrorCode.UNKNOWN_PUID.errno(),
            ErrorCode.UNKNOWN_PUID.errno(),
            ErrorCode.GRANT_PAUSED.errno(),
            ErrorCode.GRANT_REVOKED.errno(),
            ErrorCode.INVALID_NOTIFICATION.errno(),
            ErrorCode.INVALID_NOTIFICATION.errno(),
            ErrorCode.INVALID_NOTIFICATION.errno(),
            0);
    assertThat(a.results().get(1).reason()).isEqualTo("Invalid notification: message: empty");
    assertThat(a.results().get(8).reason())
        .isEqualTo("Invalid notification: message: control character U+0007");
    assertThat(a.results().get(0).queueSize()).isEqualTo(1);
    assertThat(a.results().get(10).queueSize()).isEqualTo(2);
    assertThat(a.queueSize()).isEqualTo(2);
    assertThat(pending(homer))
        .extracting(Notification::message)
        .containsExactly("good one", "good two");

    // Nothing stored at all: KO, no queue size, still 200.
    Ack none = ack(post(nodeA(), app.id(), app.key(), batch(item(paused, "no"))));
    assertThat(none.result()).isEqualTo("KO");
    assertThat(none.queueSize()).isEqualTo(-1);
    assertThat(
            json(post(nodeA(), app.id(), app.key(), batch(item(paused, "no")))).has("queue_size"))
        .isFalse();
  }

  /**
   * Well-formed JSON whose value is far out of its field's range, longer than the parser takes
   * elsewhere (the probe's 25-digit ttl, a 70,000-character message), is that item's error: the
   * good sibling is stored.
   */
  @Test
  void post_whenAValueIsFarTooLong_thenOnlyItsItemIsRefused() {
    App app = app("Ranges");
    String carl = email("carl");
    String puid = grant(nodeA(), carl, app.id());
    String a = ",\"action\":\"https://x.example\"";
    Ack ack =
        ack(
            post(
                nodeA(),
                app.id(),
                app.key(),
                batch(
                    "{\"UID\":\"" + puid + "\",\"message\":\"good\"" + a + "}",
                    "{\"UID\":\""
                        + puid
                        + "\",\"message\":\"bad\""
                        + a
                        + ",\"ttl\":1000000000000000000000000}",
                    "{\"UID\":\""
                        + puid
                        + "\",\"message\":\""
                        + "m".repeat(70_000)
                        + "\""
                        + a
                        + "}")));
    assertThat(ack.result()).isEqualTo("PARTIAL");
    assertThat(ack.results())
        .extracting(ItemResult::errno)
        .containsExactly(
            0, ErrorCode.INVALID_NOTIFICATION.errno(), ErrorCode.INVALID_NOTIFICATION.errno());
    assertThat(ack.results().get(1).reason())
        .isEqualTo("Invalid notification: ttl: 5 to 3600 seconds");
    assertThat(ack.results().get(2).reason())
        .isEqualTo("Invalid notification: message: at most 512 characters");
    assertThat(pending(carl)).extracting(Notification::message).containsExactly("good");
  }

  /** Pauses the grant of {@code paused} and revokes that of {@code revoked}, as their users. */
  private void pauseAndRevoke(long appId, String paused, String revoked) {
    for (String puid : List.of(paused, revoked)) {
      var grants =
          done(nodeA().server().store().persistence().grants().findByPuid(puid)).orElseThrow();
      var service = nodeA().server().appFeatures().grants();
      if (puid.equals(paused)) {
        done(service.setEnabled(grants.userSub(), puid, false));
      } else {
        done(service.revoke(grants.userSub(), puid));
      }
    }
  }

  @Test
  void fifo_holdsAHundredAndDropsTheOldestFirst() {
    App app = app("Fifo");
    String ned = email("ned");
    String puid = grant(nodeA(), ned, app.id());
    List<String> items = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      items.add(item(puid, "m" + i));
    }
    Ack full = ack(post(nodeA(), app.id(), app.key(), batch(items.toArray(String[]::new))));
    assertThat(full.results())
        .extracting(ItemResult::queueSize)
        .containsExactlyElementsOf(IntStream.rangeClosed(1, 100).boxed().toList());
    assertThat(full.results()).allMatch(r -> r.dropped().isEmpty());

    Ack over =
        ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "m100"), item(puid, "m101"))));
    assertThat(over.queueSize()).isEqualTo(100);
    assertThat(over.results()).extracting(ItemResult::queueSize).containsExactly(100, 100);
    assertThat(over.results().get(0).dropped()).containsExactly(full.results().get(0).id());
    assertThat(over.results().get(1).dropped()).containsExactly(full.results().get(1).id());

    // Another app's queue for the same user is its own.
    App second = app("Fifo2");
    String puid2 = grant(nodeA(), ned, second.id());
    assertThat(ack(post(nodeA(), second.id(), second.key(), batch(item(puid2, "own")))).queueSize())
        .isEqualTo(1);

    try (DeviceTestClient d = device(nodeB(), ned, "phone")) {
      List<LiveNotification> got = d.notifications(101);
      List<String> fromFifo =
          got.stream().filter(n -> n.appId() == app.id()).map(LiveNotification::message).toList();
      assertThat(fromFifo).hasSize(100);
      assertThat(fromFifo.get(0)).isEqualTo("m2");
      assertThat(fromFifo.get(99)).isEqualTo("m101");
      assertThat(got).anyMatch(n -> n.appId() == second.id() && n.message().equals("own"));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Delivering

  @Test
  void connect_deliversEverythingPendingForAllAppsAtOnce_thenQueuesAreEmpty() {
    App beer = app("BeerChat");
    App tavern = app("Tavern");
    String moe = email("moe");
    String p1 = grant(nodeA(), moe, beer.id());
    String p2 = grant(nodeA(), moe, tavern.id());
    Ack a1 =
        ack(
            post(
                nodeA(),
                beer.id(),
                beer.key(),
                batch(item(p1, "join #ale"), item(p1, "join #stout"))));
    Ack a2 = ack(post(nodeA(), tavern.id(), tavern.key(), batch(item(p2, "last call"))));
    assertThat(pending(moe)).hasSize(3);

    try (DeviceTestClient d = device(nodeB(), moe, "laptop")) {
      Notifications frame = d.notifications();
      assertThat(frame.notifications()).hasSize(3);
      Map<String, LiveNotification> byId =
          frame.notifications().stream().collect(Collectors.toMap(LiveNotification::id, n -> n));
      LiveNotification first = byId.get(a1.results().get(0).id());
      assertThat(first.source()).isEqualTo("BeerChat");
      assertThat(first.appId()).isEqualTo(beer.id());
      assertThat(first.message()).isEqualTo("join #ale");
      assertThat(first.action()).isEqualTo("https://example.com/open");
      assertThat(first.missed()).isFalse();
      assertThat(first.expiresAt()).isGreaterThan(System.currentTimeMillis());
      assertThat(byId.get(a2.results().get(0).id()).source()).isEqualTo("Tavern");
      await().atMost(WAIT).until(() -> pending(moe).isEmpty());
      // Nothing comes twice.
      assertThat(d.notifications(QUIET)).isNull();
    }
  }

  @Test
  void post_whileConnected_reachesTheDeviceOnAnyNode_andLeavesTheQueue() {
    App app = app("Live");
    String edna = email("edna");
    String puid = grant(nodeA(), edna, app.id());
    try (DeviceTestClient d = device(nodeB(), edna, "phone")) {
      assertThat(d.notifications(QUIET)).isNull();
      Ack a = ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "now"))));
      Notifications frame = d.notifications();
      assertThat(messages(frame.notifications())).containsExactly("now");
      assertThat(frame.notifications().get(0).id()).isEqualTo(a.results().get(0).id());
      await().atMost(WAIT).until(() -> pending(edna).isEmpty());
      ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "again"), item(puid, "and again"))));
      assertThat(messages(d.notifications(2))).containsExactly("again", "and again");
      await().atMost(WAIT).until(() -> pending(edna).isEmpty());
    }
  }

  /**
   * Has Redis close every node's pub/sub connection (as it closes a subscriber past its output
   * buffer limit, or as a network cut does); false where the nodes have none (the in-process bus).
   */
  protected boolean cutPubSubConnections() {
    return false;
  }

  @Test
  void aWakeUpLostWhileANodesPubSubWasCut_isMadeUpOnceItIsBack() {
    App app = app("Cut");
    String selma = email("selma");
    String puid = grant(nodeA(), selma, app.id());
    try (DeviceTestClient d = device(nodeB(), selma, "phone")) {
      assertThat(d.notifications(QUIET)).isNull();
      // An item stored whose wake-up never reached node b (published while its connection was
      // down): stored here without one.
      Instant now = Instant.now();
      Notification item =
          new Notification(
              UUID.randomUUID().toString().replace("-", ""),
              app.id(),
              puid,
              "Cut",
              "while cut",
              "https://cut.example/open",
              now,
              now.plusSeconds(60),
              false);
      done(nodeA().server().store().notifications().enqueue(sub(selma), item));
      assertThat(d.notifications(QUIET)).isNull();
      assumeTrue(cutPubSubConnections(), "no pub/sub to cut");
      assertThat(messages(d.notifications().notifications())).containsExactly("while cut");
      await().atMost(WAIT).until(() -> pending(selma).isEmpty());
    }
  }

  /**
   * Has the Redis server holding {@code key} (every server when null) refuse the nodes' scripts and
   * {@code HGETALL} (every queue read and session lookup) until called again with {@code refuse}
   * false, as a Redis that is away fails them; false where there is no Redis.
   */
  protected boolean refuseScripts(String key, boolean refuse) {
    return false;
  }

  /**
   * The key of {@code sub}'s presence hash when it is on another Redis than the user's queues and
   * application {@code appId}'s rate bucket (a Redis Cluster: a batch is stored there, then its
   * sessions are looked up on the other), else null.
   */
  protected String presenceApartFromQueues(String sub, long appId) {
    return null;
  }

  /**
   * The node's pub/sub connection is back before its queue reads work (a restarted Redis): the
   * re-read of its open sessions' queues fails, and is tried again until it works; the item that
   * waited reaches the device without a new connect or notification.
   */
  @Test
  void aFailedReReadAfterAResubscription_isTriedAgain_untilTheQueuesAnswer() throws Exception {
    App app = app("Again");
    String ria = email("ria");
    String puid = grant(nodeA(), ria, app.id());
    try (DeviceTestClient d = device(nodeB(), ria, "phone")) {
      assertThat(d.notifications(QUIET)).isNull();
      Instant now = Instant.now();
      Notification item =
          new Notification(
              UUID.randomUUID().toString().replace("-", ""),
              app.id(),
              puid,
              "Again",
              "while away",
              "https://again.example/open",
              now,
              now.plusSeconds(60),
              false);
      done(nodeA().server().store().notifications().enqueue(sub(ria), item));
      assumeTrue(refuseScripts(null, true), "no Redis");
      try {
        assumeTrue(cutPubSubConnections(), "no pub/sub to cut");
        // Resubscribed at once; its re-read fails meanwhile.
        assertThat(d.notifications(Duration.ofMillis(1200))).isNull();
      } finally {
        refuseScripts(null, false);
      }
      assertThat(messages(d.notifications().notifications())).containsExactly("while away");
      await().atMost(WAIT).until(() -> pending(ria).isEmpty());
    }
  }

  /**
   * Items stored while their user's sessions could not be looked up (the Redis of the presence hash
   * failing over) wait in the queue but reach the connected device once the lookup works again,
   * without a new connect; an item posted meanwhile does not overtake them: the device gets them in
   * the order they were posted.
   */
  @Test
  void itemsWhoseSessionsWereNotFound_reachTheDeviceLater_inOrder() throws Exception {
    App app = app("Lookup");
    String lia = null;
    String presence = null;
    for (int i = 0; i < 50 && presence == null; i++) {
      lia = email("lia");
      presence = presenceApartFromQueues(sub(lia), app.id());
    }
    assumeTrue(presence != null, "sessions looked up with the items stored");
    String puid = grant(nodeA(), lia, app.id());
    try (DeviceTestClient d = device(nodeB(), lia, "phone")) {
      assertThat(d.notifications(QUIET)).isNull();
      assertThat(refuseScripts(presence, true)).isTrue();
      try {
        for (String m : List.of("m1", "m2", "m3")) {
          assertThat(ack(post(nodeA(), app.id(), app.key(), batch(item(puid, m)))).stored())
              .isEqualTo(1);
        }
        assertThat(d.notifications(QUIET)).isNull();
      } finally {
        refuseScripts(presence, false);
      }
      // Posted once the lookup works again, likely before the node's next try for the others.
      assertThat(ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "m4")))).stored())
          .isEqualTo(1);
      assertThat(messages(d.notifications(4))).containsExactly("m1", "m2", "m3", "m4");
      String user = lia;
      await().atMost(WAIT).until(() -> pending(user).isEmpty());
    }
  }

  @Test
  void severalDevices_eachConnectedDeviceGetsThem() {
    App app = app("Multi");
    String seymour = email("seymour");
    String puid = grant(nodeA(), seymour, app.id());
    try (DeviceTestClient phone = device(nodeA(), seymour, "phone");
        DeviceTestClient laptop = device(nodeB(), seymour, "laptop")) {
      Ack a = ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "to both"))));
      String id = a.results().get(0).id();
      assertThat(phone.notifications().notifications())
          .extracting(LiveNotification::id)
          .containsExactly(id);
      assertThat(laptop.notifications().notifications())
          .extracting(LiveNotification::id)
          .containsExactly(id);
      await().atMost(WAIT).until(() -> pending(seymour).isEmpty());
    }
  }

  @Test
  void notWritten_staysQueued_untilASocketTakesIt() {
    App app = app("Grace");
    String apu = email("apu");
    String puid = grant(nodeA(), apu, app.id());
    // The device's socket closes; its node still counts it for the grace period, so the item's
    // wake-up reaches that node, which has no socket to write it to.
    DeviceTestClient gone = device(nodeB(), apu, "phone");
    gone.close();
    await()
        .atMost(WAIT)
        .until(
            () ->
                nodeB().server().device().registry().size() == 0
                    || nodeB().server().device().registry().sink(gone.session()) == null);
    Ack a = ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "nobody home"))));
    await().during(QUIET).atMost(WAIT).until(() -> pending(apu).size() == 1);

    try (DeviceTestClient back = device(nodeB(), apu, "phone")) {
      assertThat(back.notifications().notifications())
          .extracting(LiveNotification::id)
          .containsExactly(a.results().get(0).id());
      await().atMost(WAIT).until(() -> pending(apu).isEmpty());
    }
  }

  @Test
  void expiredTtl_isDeliveredFlaggedMissed_withAMissedReceipt() {
    App app = app("Late");
    String carl = email("carl");
    String puid = grant(nodeA(), carl, app.id());
    try (ReceiptRecorder receipts =
        ReceiptRecorder.listen(nodeA().server().store().bus(), app.id())) {
      Ack a =
          ack(
              post(
                  nodeA(),
                  app.id(),
                  app.key(),
                  batch(
                      "{\"UID\":\""
                          + puid
                          + "\",\"message\":\"quick\",\"action\":\"https://x.example\","
                          + "\"ttl\":5,\"receipts\":true}",
                      "{\"UID\":\""
                          + puid
                          + "\",\"message\":\"slow\",\"action\":\"https://x.example\","
                          + "\"ttl\":3600}")));
      String quick = a.results().get(0).id();
      await().atMost(WAIT).until(() -> pending(carl).get(0).missedAt(Instant.now()));
      try (DeviceTestClient d = device(nodeB(), carl, "phone")) {
        Map<String, LiveNotification> got =
            d.notifications(2).stream().collect(Collectors.toMap(LiveNotification::id, n -> n));
        assertThat(got.get(quick).missed()).isTrue();
        assertThat(got.get(a.results().get(1).id()).missed()).isFalse();
        assertThat(d.rawPushes().get(0)).contains("\"missed\":true");
        // Written before the device set any status: the receipt waits for its first one.
        await().during(QUIET).atMost(WAIT).until(() -> receipts.seen().isEmpty());
        assertThat(d.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
        await().atMost(WAIT).until(() -> receipts.seen().contains(quick + ":missed"));
        // A missed notification can no longer be acknowledged.
        assertThat(d.request(new Acknowledge(d.session(), List.of(quick))))
            .isEqualTo(DeviceMessage.ErrorReply.of(ErrorCode.UNKNOWN_NOTIFICATION, quick));
      }
      assertThat(receipts.seen()).containsExactly(quick + ":missed");
    }
  }

  @Test
  void receipts_deliveredActedDismissed_onlyWhenAskedFor_andOnce() {
    App app = app("Receipts");
    String otto = email("otto");
    String puid = grant(nodeA(), otto, app.id());
    try (ReceiptRecorder receipts =
            ReceiptRecorder.listen(nodeA().server().store().bus(), app.id());
        DeviceTestClient d = device(nodeB(), otto, "phone");
        DeviceTestClient other = device(nodeA(), otto, "tablet")) {
      // Delivered receipts need a device that shows the application a presence.
      assertThat(d.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(other.status(PresenceStatus.AWAY, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      String withReceipts =
          "{\"UID\":\""
              + puid
              + "\",\"message\":\"%s\",\"action\":\"https://x.example\",\"receipts\":true}";
      Ack a =
          ack(
              post(
                  nodeA(),
                  app.id(),
                  app.key(),
                  batch(
                      withReceipts.formatted("act on me"),
                      withReceipts.formatted("dismiss me"),
                      item(puid, "no receipts"))));
      String acted = a.results().get(0).id();
      String dismissed = a.results().get(1).id();
      String quiet = a.results().get(2).id();
      assertThat(d.notifications(3)).hasSize(3);
      assertThat(other.notifications(3)).hasSize(3);
      await()
          .atMost(WAIT)
          .alias("delivered receipts")
          .until(() -> receipts.seen(), r -> r.size() == 2);
      assertThat(receipts.seen())
          .containsExactlyInAnyOrder(acted + ":delivered", dismissed + ":delivered");

      assertThat(d.request(new Acknowledge(d.session(), List.of(acted))))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(d.request(new Dismiss(d.session(), List.of(dismissed, quiet))))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      // The other device answers too: accepted, but the first answer counts.
      assertThat(other.request(new Dismiss(other.session(), List.of(acted))))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      await().atMost(WAIT).until(() -> receipts.seen().size() == 4);
      assertThat(receipts.seen().subList(2, 4))
          .containsExactlyInAnyOrder(acted + ":acted", dismissed + ":dismissed");
      await().during(QUIET).atMost(WAIT).until(() -> receipts.seen().size() == 4);

      JsonNode r = receipts.all().get(2);
      assertThat(r.get("UID").asText()).isEqualTo(puid);
      assertThat(r.get("at").asLong())
          .isBetween(System.currentTimeMillis() - 60_000, System.currentTimeMillis());

      // Ids the user was never sent, or that are malformed, are refused with their errno.
      assertThat(d.request(new Acknowledge(d.session(), List.of("nope-" + UUID.randomUUID()))))
          .isInstanceOfSatisfying(
              DeviceMessage.ErrorReply.class,
              e -> assertThat(e.errno()).isEqualTo(ErrorCode.UNKNOWN_NOTIFICATION.errno()));
      d.sendText("{\"type\":\"dismiss\",\"session_id\":\"" + d.session() + "\",\"ids\":[\"<b>\"]}");
      assertThat(d.error()).isEqualTo(ErrorCode.INVALID_FIELD_VALUE);
      d.sendText(
          "{\"type\":\"dismiss\",\"session_id\":\"" + UUID.randomUUID() + "\",\"ids\":[\"a\"]}");
      assertThat(d.error()).isEqualTo(ErrorCode.UNKNOWN_SESSION);
      // Another user's device cannot answer Otto's notifications.
      try (DeviceTestClient stranger = device(nodeB(), email("snake"), "phone")) {
        assertThat(stranger.request(new Acknowledge(stranger.session(), List.of(dismissed))))
            .isInstanceOfSatisfying(
                DeviceMessage.ErrorReply.class,
                e -> assertThat(e.errno()).isEqualTo(ErrorCode.UNKNOWN_NOTIFICATION.errno()));
      }
      // The session survives all of it.
      assertThat(d.status(org.presence.protocol.model.PresenceStatus.ONLINE, null))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
    }
  }

  @Test
  void markupAndControls_storedAndDeliveredAsData() {
    App app = app("Markup");
    String kent = email("kent");
    String puid = grant(nodeA(), kent, app.id());
    String message = "<script>alert(\\\"x\\\")</script> & <b>bold</b>\\nline two\\ttab é 🍺";
    String expected = "<script>alert(\"x\")</script> & <b>bold</b>\nline two\ttab é 🍺";
    ack(
        post(
            nodeA(),
            app.id(),
            app.key(),
            batch(
                "{\"UID\":\""
                    + puid
                    + "\",\"message\":\""
                    + message
                    + "\",\"action\":\"https://example.com/a?b=1&c=2\"}")));
    assertThat(pending(kent)).extracting(Notification::message).containsExactly(expected);
    try (DeviceTestClient d = device(nodeB(), kent, "phone")) {
      LiveNotification n = d.notifications().notifications().get(0);
      assertThat(n.message()).isEqualTo(expected);
      assertThat(n.action()).isEqualTo("https://example.com/a?b=1&c=2");
      assertThat(d.rawPushes().get(0))
          .doesNotContain("<script>")
          .doesNotContain("&")
          .contains("\\u003Cscript\\u003E");
    }
  }

  @Test
  void deviceThatStopsReading_isClosed_andWhatWasNotWrittenWaitsForItsNextSession()
      throws Exception {
    App app = app("Firehose");
    String barney = email("barney");
    String puid = grant(nodeA(), barney, app.id());
    TestNode node = nodeB();
    long slowBefore = slowConsumerErrors(node);
    Set<String> acked = new HashSet<>();
    Set<String> dropped = new HashSet<>();
    Set<String> readByStuck = new HashSet<>();
    try (org.presence.gateway.testing.RawWebSocket stuck =
        org.presence.gateway.testing.RawWebSocket.connect(node.port(), "/presence", 4096)) {
      stuck.sendText(
          new String(
              org.presence.protocol.device.DeviceCodec.toBytes(
                  new DeviceMessage.Connect(node.token(barney), null, "stuck")),
              java.nio.charset.StandardCharsets.UTF_8));
      String answer = stuck.readText(WAIT, true);
      assertThat(answer).contains("session_id");
      UUID session = UUID.fromString(json(answer).get("session_id").asText());
      // From here on the device reads nothing. Big items (about 1.5 KB each) fill the socket.
      String big = "中".repeat(500);
      for (int round = 0;
          round < 80 && node.server().device().registry().sink(session) != null;
          round++) {
        String[] items = new String[100];
        for (int i = 0; i < 100; i++) {
          items[i] = item(puid, round + "-" + i + "-" + big);
        }
        Ack a = ack(post(nodeA(), app.id(), app.key(), batch(items)));
        a.results()
            .forEach(
                r -> {
                  acked.add(r.id());
                  dropped.addAll(r.dropped());
                });
      }
      await().atMost(WAIT).until(() -> node.server().device().registry().sink(session) == null);
      assertThat(slowConsumerErrors(node)).isGreaterThan(slowBefore);
      // What the socket took before it was closed is still in it: read it all now.
      org.presence.gateway.testing.RawWebSocket.Frame f;
      while ((f = stuck.read(Duration.ofSeconds(2))) != null) {
        if (f.opcode() == org.presence.gateway.testing.RawWebSocket.TEXT
            && f.text().startsWith("{\"notifications\"")) {
          JsonNode frame = new com.fasterxml.jackson.databind.ObjectMapper().readTree(f.text());
          frame.get("notifications").forEach(n -> readByStuck.add(n.get("id").asText()));
        }
      }
    }
    assertThat(readByStuck).isNotEmpty();
    Set<String> readByNext = new HashSet<>();
    try (DeviceTestClient next = device(node, barney, "phone")) {
      Notifications frame;
      while ((frame = next.notifications(Duration.ofSeconds(3))) != null) {
        frame.notifications().forEach(n -> readByNext.add(n.id()));
      }
    }
    assertThat(readByNext).as("items not written to the stuck socket waited").isNotEmpty();
    Set<String> expected = new HashSet<>(acked);
    expected.removeAll(dropped);
    Set<String> lost = new HashSet<>(expected);
    lost.removeAll(readByStuck);
    lost.removeAll(readByNext);
    assertThat(lost).as("acknowledged items neither device got").isEmpty();
    await().atMost(WAIT).until(() -> pending(barney).isEmpty());
  }

  private static long slowConsumerErrors(TestNode node) {
    return node.server()
        .metrics()
        .registry()
        .counter(
            "presence.errors."
                + ErrorCode.SLOW_CONSUMER.errno()
                + "."
                + ErrorCode.SLOW_CONSUMER.metricLabel())
        .getCount();
  }

  @Test
  void flood_fromOneApp_isRateLimited_otherAppsAndDevicesUnaffected() {
    Map<String, String> o = new HashMap<>();
    o.put("notifications.rate", "1");
    o.put("notifications.burst", "50");
    try (TestNode n = startNode(o)) {
      App flooder = app(n, "Flooder");
      App calm = app(n, "Calm");
      String user = email("flooded");
      String p1 = grant(n, user, flooder.id());
      String p2 = grant(n, user, calm.id());
      try (DeviceTestClient d = device(n, user, "phone")) {
        String[] thirty =
            IntStream.range(0, 30).mapToObj(i -> item(p1, "f" + i)).toArray(String[]::new);
        assertThat(ack(post(n, flooder.id(), flooder.key(), batch(thirty))).result())
            .isEqualTo("OK");
        HttpResponse<String> partial = post(n, flooder.id(), flooder.key(), batch(thirty));
        Ack second = ack(partial);
        assertThat(second.result()).isEqualTo("PARTIAL");
        assertThat(second.stored()).isBetween(20, 22);
        assertThat(second.results().get(29).errno()).isEqualTo(ErrorCode.APP_RATE_LIMITED.errno());
        assertThat(partial.headers().firstValue("Retry-After")).isPresent();
        HttpResponse<String> refused = null;
        for (int i = 0; i < 20 && refused == null; i++) {
          HttpResponse<String> r = post(n, flooder.id(), flooder.key(), batch(thirty));
          if (r.statusCode() == 429) {
            refused = r;
          }
        }
        assertThat(refused).as("a flood ends in 429").isNotNull();
        expectError(refused, 429, ErrorCode.APP_RATE_LIMITED);
        assertThat(refused.headers().firstValue("Retry-After"))
            .hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
        // Another application, and the device, are not slowed.
        Ack other = ack(post(n, calm.id(), calm.key(), batch(item(p2, "calm"))));
        assertThat(other.result()).isEqualTo("OK");
        List<String> got = new ArrayList<>();
        while (!got.contains("calm")) {
          got.addAll(messages(d.notifications().notifications()));
        }
        assertThat(got).contains("f0", "f29");
      }
    }
  }

  /**
   * An application may have at most notifications.max-queued-per-app items queued over all its
   * users: items beyond get errno 174 in their result (HTTP 200, PARTIAL or KO), the others are
   * stored, other applications are not affected, and a delivery makes room again.
   */
  @Test
  void post_beyondTheApplicationsQueuedLimit_isRefusedPerItem_174_untilDeliveryMakesRoom() {
    Map<String, String> o = new HashMap<>();
    o.put("notifications.max-queued-per-app", "3");
    try (TestNode n = startNode(o)) {
      App hoarder = app(n, "Hoarder");
      App modest = app(n, "Modest");
      String away = email("away");
      String other = email("other");
      String late = email("late");
      String p1 = grant(n, away, hoarder.id());
      String p2 = grant(n, other, hoarder.id());
      String p3 = grant(n, late, hoarder.id());
      String q3 = grant(n, late, modest.id());
      long fullBefore = queueFull(n);
      assertThat(
              ack(post(n, hoarder.id(), hoarder.key(), batch(item(p1, "a"), item(p1, "b"))))
                  .result())
          .isEqualTo("OK");

      HttpResponse<String> partial =
          post(n, hoarder.id(), hoarder.key(), batch(item(p2, "c"), item(p3, "d"), item(p2, "e")));
      assertThat(partial.statusCode()).isEqualTo(200);
      Ack some = ack(partial);
      assertThat(some.result()).isEqualTo("PARTIAL");
      assertThat(some.results())
          .extracting(ItemResult::isStored)
          .containsExactly(true, false, false);
      JsonNode refused = json(partial).get("results").get(1);
      assertThat(refused.get("result").asText()).isEqualTo("KO");
      assertThat(refused.get("errno").asInt())
          .isEqualTo(ErrorCode.APP_QUEUE_FULL.errno())
          .isEqualTo(174);
      assertThat(refused.get("reason").asText())
          .isEqualTo("Too many notifications queued for this application");
      assertThat(refused.has("id")).isFalse();

      HttpResponse<String> none = post(n, hoarder.id(), hoarder.key(), batch(item(p3, "f")));
      assertThat(none.statusCode()).isEqualTo(200);
      assertThat(ack(none).result()).isEqualTo("KO");
      assertThat(json(none).has("queue_size")).isFalse();
      assertThat(queueFull(n) - fullBefore).isEqualTo(3);
      assertThat(done(n.server().store().notifications().pending(sub(late)))).isEmpty();

      // Another application of the same users is not affected.
      assertThat(ack(post(n, modest.id(), modest.key(), batch(item(q3, "modest")))).result())
          .isEqualTo("OK");

      // The user away connects and takes a and b: room for two.
      try (DeviceTestClient d = device(n, away, "phone")) {
        List<String> got = new ArrayList<>();
        while (!got.containsAll(List.of("a", "b"))) {
          got.addAll(messages(d.notifications().notifications()));
        }
        await()
            .atMost(WAIT)
            .until(
                () ->
                    ack(post(n, hoarder.id(), hoarder.key(), batch(item(p3, "g"))))
                        .result()
                        .equals("OK"));
      }
      assertThat(
              ack(post(n, hoarder.id(), hoarder.key(), batch(item(p3, "h"), item(p3, "i"))))
                  .results())
          .extracting(ItemResult::isStored)
          .containsExactly(true, false);
    }
  }

  private static long queueFull(TestNode node) {
    return node.server()
        .metrics()
        .registry()
        .counter("presence.notifications.app_queue_full")
        .getCount();
  }

  // ---------------------------------------------------------------------------------------------
  // Bad requests

  @Test
  void badRequests_eachGetTheirDocumentedError_andNothingElseIsLost() throws Exception {
    App app = app("Strict");
    String lenny = email("lenny");
    String puid = grant(nodeA(), lenny, app.id());
    String good = batch(item(puid, "fine"));
    try (DeviceTestClient d = device(nodeB(), lenny, "phone")) {
      expectError(
          post(nodeA(), "/" + app.id() + "/notification", null, "application/json", good),
          401,
          ErrorCode.UNAUTHORIZED);
      expectError(
          post(nodeA(), "/" + app.id() + "/notification", "x", "application/json", good),
          401,
          ErrorCode.INVALID_API_KEY);
      expectError(
          post(nodeA(), app.id(), app.key().substring(1) + "A", good),
          401,
          ErrorCode.INVALID_API_KEY);
      App other = app("Stranger");
      expectError(post(nodeA(), app.id(), other.key(), good), 401, ErrorCode.INVALID_API_KEY);
      expectError(post(nodeA(), 999_999_999L, app.key(), good), 404, ErrorCode.UNKNOWN_APP);
      expectError(
          post(nodeA(), "/abc/notification", app.key(), "application/json", good),
          404,
          ErrorCode.UNKNOWN_APP);
      expectError(
          post(nodeA(), "/" + app.id() + "/notification", app.key(), "text/plain", good),
          415,
          ErrorCode.UNSUPPORTED_MEDIA_TYPE);
      expectError(post(nodeA(), app.id(), app.key(), "[{\"UID\":"), 400, ErrorCode.MALFORMED_JSON);
      expectError(
          post(nodeA(), app.id(), app.key(), "{\"UID\":\"" + puid + "\"}"),
          400,
          ErrorCode.MALFORMED_JSON);
      expectError(
          post(nodeA(), app.id(), app.key(), "not json at all"), 400, ErrorCode.MALFORMED_JSON);
      expectError(post(nodeA(), app.id(), app.key(), "[]"), 400, ErrorCode.INVALID_NOTIFICATION);
      expectError(
          post(nodeA(), app.id(), app.key(), "[" + "[".repeat(100) + "]".repeat(100) + "]"),
          400,
          ErrorCode.MALFORMED_JSON);
      assertThat(
              json(post(
                      nodeA(), app.id(), app.key(), "[" + "[".repeat(100) + "]".repeat(100) + "]"))
                  .get("reason")
                  .asText())
          .isEqualTo("Malformed JSON: nested deeper than 16");
      // 10,000 short items fit the body limit: the batch limit refuses them.
      String tenThousand =
          batch(
              IntStream.range(0, 10_000).mapToObj(i -> item("u" + i, "n")).toArray(String[]::new));
      assertThat(tenThousand.length()).isLessThan(1 << 20);
      expectError(post(nodeA(), app.id(), app.key(), tenThousand), 413, ErrorCode.BATCH_TOO_LARGE);
      // A body over the batch limit is refused on its Content-Length, before it is read.
      String huge =
          org.presence.gateway.testing.RawHttp.exchange(
              nodeA().port(),
              "POST /"
                  + app.id()
                  + "/notification HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + app.key()
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + ((1 << 20) + 1)
                  + "\r\n\r\n");
      assertThat(huge).startsWith("HTTP/1.1 413").contains("\"errno\":103");
      // Other routes keep the node's smaller request limit, chunked bodies included.
      String chunk = "{\"name\":\"" + "n".repeat(100_000) + "\"}";
      String chunked =
          org.presence.gateway.testing.RawHttp.exchange(
              nodeA().port(),
              "POST /api/apps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Transfer-Encoding: chunked\r\n\r\n"
                  + Integer.toHexString(chunk.length())
                  + "\r\n"
                  + chunk
                  + "\r\n0\r\n\r\n");
      assertThat(chunked).startsWith("HTTP/1.1 413").contains("\"errno\":103");

      // The deactivated application's key no longer posts.
      App off = app("Off");
      String offPuid = grant(nodeA(), lenny, off.id());
      ack(post(nodeA(), off.id(), off.key(), batch(item(offPuid, "before"))));
      ApiClient dev = ApiClient.forEmail(nodeA(), ownerOf(off));
      assertThat(dev.post("/api/apps/" + off.id() + "/deactivate", null).statusCode())
          .isEqualTo(200);
      expectError(
          post(nodeA(), off.id(), off.key(), batch(item(offPuid, "after"))),
          409,
          ErrorCode.APP_NOT_ACTIVE);

      // None of it cost the device or the queue anything: the good batch still goes through.
      List<LiveNotification> got = new ArrayList<>(d.notifications(1));
      Ack a = ack(post(nodeA(), app.id(), app.key(), good));
      got.addAll(d.notifications(1));
      assertThat(got)
          .extracting(LiveNotification::message)
          .containsExactlyInAnyOrder("before", "fine");
      assertThat(got).extracting(LiveNotification::id).contains(a.results().get(0).id());
    }
  }

  private String ownerOf(App app) {
    return owners.get(app.id());
  }

  private static void expectError(HttpResponse<String> r, int status, ErrorCode code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
    JsonNode body = json(r);
    assertThat(body.get("errno").asInt()).as(r.body()).isEqualTo(code.errno());
    assertThat(body.get("result").asBoolean()).isFalse();
    // Plain words: none of the parser's own messages, classes or features.
    assertThat(body.get("reason").asText())
        .doesNotContain("Jackson", "StreamRead", "Feature", "`", "Unexpected", "exceeds");
    if (status == 401) {
      assertThat(r.headers().firstValue("WWW-Authenticate")).contains("Bearer");
    }
  }

  @Test
  void revokingAGrant_dropsWhatWaitsForIt() {
    App app = app("Revoked");
    String patty = email("patty");
    String puid = grant(nodeA(), patty, app.id());
    ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "a"), item(puid, "b"))));
    assertThat(pending(patty)).hasSize(2);
    HttpResponse<String> r = ApiClient.forEmail(nodeA(), patty).delete("/api/grants/" + puid);
    assertThat(r.statusCode()).isEqualTo(200);
    // The answer is the grant as it is now: revoked, not enabled.
    assertThat(json(r).get("puid").asText()).isEqualTo(puid);
    assertThat(json(r).get("enabled").asBoolean()).isFalse();
    await().atMost(WAIT).until(() -> pending(patty).isEmpty());
    assertThat(
            ack(post(nodeA(), app.id(), app.key(), batch(item(puid, "c"))))
                .results()
                .get(0)
                .errno())
        .isEqualTo(ErrorCode.GRANT_REVOKED.errno());
  }

  /** The receipts of {@code app}'s items posted with {@code "receipts": true}. */
  private static String withReceipts(String puid, String message) {
    return "{\"UID\":\""
        + puid
        + "\",\"message\":\""
        + message
        + "\",\"action\":\"https://x.example\",\"receipts\":true}";
  }

  /**
   * A pause stops what waits: the paused PUID's queued items are dropped (a resume does not bring
   * them back), one stored after the pause by a node that had not heard of it is dropped when a
   * session meets it, and no receipt tells the application anything.
   */
  @Test
  void pausingAGrant_dropsWhatWaitsForIt_andItsAppGetsNoReceipt() {
    App app = app("Paused");
    String pia = email("pia");
    String puid = grant(nodeA(), pia, app.id());
    try (ReceiptRecorder receipts =
        ReceiptRecorder.listen(nodeA().server().store().bus(), app.id())) {
      ack(
          post(
              nodeA(),
              app.id(),
              app.key(),
              batch(withReceipts(puid, "before 1"), withReceipts(puid, "before 2"))));
      assertThat(pending(pia)).hasSize(2);
      HttpResponse<String> paused =
          ApiClient.forEmail(nodeA(), pia).put("/api/grants/" + puid, "{\"enabled\":false}");
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(200);
      // Dropped before the answer.
      assertThat(pending(pia)).isEmpty();
      // Stored as a node whose PUID cache had not heard of the pause would store it.
      Instant now = Instant.now();
      done(
          nodeA()
              .server()
              .store()
              .notifications()
              .enqueue(
                  sub(pia),
                  new Notification(
                      UUID.randomUUID().toString().replace("-", ""),
                      app.id(),
                      puid,
                      "Paused",
                      "stale",
                      "https://x.example",
                      now,
                      now.plusSeconds(60),
                      true)));
      try (DeviceTestClient d = device(nodeB(), pia, "phone")) {
        assertThat(d.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
        assertThat(d.notifications(QUIET)).isNull();
        await().atMost(WAIT).until(() -> pending(pia).isEmpty());
      }
      assertThat(
              ApiClient.forEmail(nodeA(), pia)
                  .put("/api/grants/" + puid, "{\"enabled\":true}")
                  .statusCode())
          .isEqualTo(200);
      try (DeviceTestClient d = device(nodeA(), pia, "phone")) {
        assertThat(d.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
        assertThat(d.notifications(QUIET)).isNull();
      }
      assertThat(receipts.seen()).isEmpty();
    }
  }

  /**
   * A notification delivered before its grant was paused or revoked may still be answered by the
   * user, but the application gets no receipt of it: its grant is not active.
   */
  @Test
  void answersAfterAPauseOrARevoke_sendNoReceipt() {
    App app = app("Answered");
    String paula = email("paula");
    String rex = email("rex");
    String paused = grant(nodeA(), paula, app.id());
    String revoked = grant(nodeA(), rex, app.id());
    try (ReceiptRecorder receipts =
            ReceiptRecorder.listen(nodeA().server().store().bus(), app.id());
        DeviceTestClient p = device(nodeB(), paula, "phone");
        DeviceTestClient r = device(nodeB(), rex, "phone")) {
      assertThat(p.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(r.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      Ack a =
          ack(
              post(
                  nodeA(),
                  app.id(),
                  app.key(),
                  batch(withReceipts(paused, "to paula"), withReceipts(revoked, "to rex"))));
      String toPaula = a.results().get(0).id();
      String toRex = a.results().get(1).id();
      assertThat(p.notifications(1)).hasSize(1);
      assertThat(r.notifications(1)).hasSize(1);
      await().atMost(WAIT).until(() -> receipts.seen().size() == 2);
      assertThat(receipts.seen())
          .containsExactlyInAnyOrder(toPaula + ":delivered", toRex + ":delivered");
      pauseAndRevoke(app.id(), paused, revoked);
      assertThat(p.request(new Acknowledge(p.session(), List.of(toPaula))))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(r.request(new Dismiss(r.session(), List.of(toRex))))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      await().during(QUIET).atMost(WAIT).until(() -> receipts.seen().size() == 2);
    }
  }

  /**
   * A {@code delivered} receipt goes only for a write to a device that shows the application a
   * presence: not to one that is offline while connected, nor to one whose {@code application_ids}
   * leave the application out; a device with no status yet holds it until its first status, which
   * decides.
   */
  @Test
  void deliveredReceipts_onlyForADeviceThatShowsTheAppAPresence() {
    App app = app("Hidden");
    String hal = email("hal");
    String olga = email("olga");
    String nina = email("nina");
    String vic = email("vic");
    String halPuid = grant(nodeA(), hal, app.id());
    String olgaPuid = grant(nodeA(), olga, app.id());
    String ninaPuid = grant(nodeA(), nina, app.id());
    String vicPuid = grant(nodeA(), vic, app.id());
    try (ReceiptRecorder receipts =
            ReceiptRecorder.listen(nodeA().server().store().bus(), app.id());
        // Hides from the application: its list names another one.
        DeviceTestClient h =
            DeviceTestClient.connected(
                nodeB(), nodeB().token(hal), ApplicationIds.of(app.id() + 1000), "phone");
        DeviceTestClient o = device(nodeB(), olga, "phone");
        DeviceTestClient n = device(nodeA(), nina, "phone");
        DeviceTestClient v = device(nodeB(), vic, "phone")) {
      assertThat(h.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(o.status(PresenceStatus.OFFLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      Ack a =
          ack(
              post(
                  nodeA(),
                  app.id(),
                  app.key(),
                  batch(
                      withReceipts(halPuid, "hidden"),
                      withReceipts(olgaPuid, "invisible"),
                      withReceipts(ninaPuid, "no status yet"),
                      withReceipts(vicPuid, "no status yet"))));
      assertThat(h.notifications(1)).hasSize(1);
      assertThat(o.notifications(1)).hasSize(1);
      assertThat(n.notifications(1)).hasSize(1);
      assertThat(v.notifications(1)).hasSize(1);
      await().during(QUIET).atMost(WAIT).until(() -> receipts.seen().isEmpty());
      // Nina's first status shows the application her presence: her receipt goes; Vic's hides.
      assertThat(n.status(PresenceStatus.AWAY, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(v.status(PresenceStatus.OFFLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      String toNina = a.results().get(2).id();
      await().atMost(WAIT).until(() -> receipts.seen().size() == 1);
      await().during(QUIET).atMost(WAIT).until(() -> receipts.seen().size() == 1);
      assertThat(receipts.seen()).containsExactly(toNina + ":delivered");
      // Acting is the user's own doing: its receipt goes, hidden or not.
      String toHal = a.results().get(0).id();
      assertThat(h.request(new Acknowledge(h.session(), List.of(toHal))))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      await().atMost(WAIT).until(() -> receipts.seen().contains(toHal + ":acted"));
    }
  }

  /** A user holding two PUIDs at one application: revoking one keeps what waits for the other. */
  @Test
  void revokingOneOfTwoGrantsAtAnApp_keepsWhatWaitsForTheOther() {
    App app = app("Twice");
    String tess = email("tess");
    String first = grant(nodeA(), tess, app.id());
    HttpResponse<String> g =
        ApiClient.forEmail(nodeA(), tess)
            .post("/api/grants", "{\"app_id\":" + app.id() + ",\"id\":\"Tess at work\"}");
    assertThat(g.statusCode()).as(g.body()).isEqualTo(200);
    String second = json(g).get("puid").asText();
    assertThat(second).isNotEqualTo(first);
    ack(post(nodeA(), app.id(), app.key(), batch(item(first, "one"), item(second, "two"))));
    assertThat(pending(tess)).hasSize(2);
    assertThat(ApiClient.forEmail(nodeA(), tess).delete("/api/grants/" + first).statusCode())
        .isEqualTo(200);
    assertThat(pending(tess)).extracting(Notification::message).containsExactly("two");
    try (DeviceTestClient d = device(nodeB(), tess, "phone")) {
      assertThat(messages(d.notifications().notifications())).containsExactly("two");
    }
  }
}
