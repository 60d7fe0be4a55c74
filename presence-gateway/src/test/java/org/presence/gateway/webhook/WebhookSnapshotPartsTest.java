package org.presence.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.webhook.WebhookRig.done;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.WebhooksConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.testing.EmbeddedStore;
import org.presence.gateway.testing.WebhookStub;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.LocalAppUpdateLog;
import org.presence.store.updates.LocalWebhookState;
import org.presence.store.updates.WebhookState;

/**
 * A snapshot call goes in parts of at most {@code webhooks.max-batch} users and {@code
 * webhooks.max-body-bytes}, each with the snapshot's delivery id and {@code X-Presence-Snapshot};
 * the position moves only when the last part is taken, and a failed part starts the snapshot again
 * from part 1. A webhook that answers 413 gets calls of half as many users (probe-scale: one
 * snapshot body of 8.8 MB was refused and retried for ever).
 */
class WebhookSnapshotPartsTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String SECRET = "s3cret";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private WebhookRig rig;
  private EmbeddedStore store;
  private LocalAppUpdateLog log;
  private LocalWebhookState state;
  private LocalPresenceStateStore presence;

  /** The state store the snapshot reader reads ({@link #presence} unless a test counts reads). */
  private PresenceStateStore snapshotState;

  private MetricRegistry registry;
  private AppUpdatePublisher publisher;
  private WebhookStub hook;
  private WebhookDispatcher webhooks;
  private final Map<String, Integer> versions = new HashMap<>();

  @BeforeEach
  void open() throws Exception {
    rig = new WebhookRig(dir, true);
    store = rig.store;
    log = rig.log;
    state = rig.state;
    presence = rig.presence;
    registry = rig.registry;
    publisher = rig.publisher;
    hook = WebhookStub.start();
  }

  @AfterEach
  void close() {
    try {
      rig.close();
    } finally {
      hook.close();
    }
  }

  /** Starts the dispatcher: each webhook of an application created before gets a snapshot call. */
  private void start(int maxBatch, int maxBodyBytes) {
    webhooks =
        rig.dispatcher(
            new WebhooksConfig(
                Duration.ofMillis(300),
                Duration.ofSeconds(3),
                65_536,
                maxBatch,
                Duration.ofSeconds(1),
                8,
                Duration.ofSeconds(10),
                Duration.ofMinutes(1),
                4,
                Duration.ofSeconds(5),
                1,
                1,
                maxBodyBytes),
            snapshotState == null ? presence : snapshotState);
    webhooks.start();
  }

  private long app() throws Exception {
    Application a =
        done(
            store
                .db
                .apps()
                .create(
                    new NewApplication(
                        "Parts", "parts.example", "d", "dev:o", "o@example.com", "k")));
    done(store.db.apps().markVerified(a.id()));
    done(store.db.apps().activate(a.id(), "h"));
    done(store.db.apps().setWebhook(a.id(), hook.url("/hook"), SECRET));
    return a.id();
  }

  /**
   * Grants {@code app} {@code n} users; each of those {@code online} answers is online, the others
   * have no device (offline). Answers the online users' PUIDs.
   */
  private List<String> users(long app, int n, java.util.function.IntPredicate online)
      throws Exception {
    List<String> on = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String sub = "user-" + i;
      String puid = done(store.db.grants().grant(sub, app, "u" + i)).puid();
      if (online.test(i)) {
        done(
            presence.update(
                sub, "phone", null, PresenceStatus.ONLINE, null, null, System.currentTimeMillis()));
        on.add(puid);
      }
    }
    return on;
  }

  private Optional<WebhookState.Cursor> cursor(long app) throws Exception {
    return done(state.cursor(app));
  }

  private static boolean isSnapshot(WebhookStub.Call c) {
    return c.header(WebhookDispatcher.DELIVERY_HEADER).contains(":0-");
  }

  private static List<WebhookStub.Call> parts(List<WebhookStub.Call> calls) {
    return calls.stream().filter(WebhookSnapshotPartsTest::isSnapshot).toList();
  }

  private static Map<String, String> pairs(WebhookStub.Call c) {
    Map<String, String> out = new LinkedHashMap<>();
    try {
      JsonNode body = JSON.readTree(c.body());
      body.forEach(p -> out.put(p.get(0).asText(), p.get(1).asText()));
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + c.text(), e);
    }
    return out;
  }

  private static boolean lastPart(WebhookStub.Call c) {
    String h = c.header(WebhookDispatcher.SNAPSHOT_HEADER);
    return h != null && h.endsWith("; last");
  }

  /** Both signatures of a part: the call's, and the part's, which covers its part header. */
  private static boolean signed(WebhookStub.Call c) {
    String delivery = c.header(WebhookDispatcher.DELIVERY_HEADER);
    return WebhookSignature.verify(SECRET, delivery, c.body(), c.header(WebhookSignature.HEADER))
        && WebhookSignature.verify(
            SECRET,
            delivery,
            c.header(WebhookDispatcher.SNAPSHOT_HEADER),
            c.body(),
            c.header(WebhookSignature.SNAPSHOT_HEADER));
  }

  /** Publishes {@code status} for each PUID (the log's numbers follow). */
  private void publish(long app, List<String> puids, PresenceStatus status) throws Exception {
    List<AppUpdate.New> updates = new ArrayList<>();
    for (String p : puids) {
      int v = versions.merge(p, 1, Integer::sum);
      updates.add(new AppUpdate.New(p, status, "", v, AppUpdate.Kind.CHANGE));
    }
    done(publisher.publish(app, updates));
  }

  private long snapshots() {
    return registry.counter("presence.webhooks.snapshots").getCount();
  }

  @Test
  void aSnapshotLargerThanMaxBatch_goesInSignedParts_thePositionMovingOnlyWithTheLast()
      throws Exception {
    long app = app();
    // Every third user is offline, so pages hold users that are not sent.
    List<String> online = users(app, 12, i -> i % 3 != 1);
    publish(app, List.of(online.get(0)), PresenceStatus.ONLINE); // the log is at a number > 0
    long position = done(log.lastSeq(app));
    assertThat(position).isPositive();
    // The last part hangs a while: the position must still be unknown meanwhile.
    hook.then(
        WebhookStub.Behaviour.status(200),
        WebhookStub.Behaviour.status(200),
        WebhookStub.Behaviour.hang(1200));

    start(3, 1 << 20);

    await().atMost(WAIT).until(() -> parts(hook.calls()).size() >= 3);
    assertThat(cursor(app)).hasValueSatisfying(c -> assertThat(c.unknown()).isTrue());
    await().atMost(WAIT).until(() -> cursor(app).map(c -> c.seq() == position).orElse(false));
    await().atMost(WAIT).until(() -> snapshots() == 1);

    List<WebhookStub.Call> parts = parts(hook.calls());
    assertThat(parts).hasSize(3);
    assertThat(parts)
        .extracting(c -> c.header(WebhookDispatcher.SNAPSHOT_HEADER))
        .containsExactly("part=1", "part=2", "part=3; last");
    assertThat(parts)
        .allSatisfy(
            c -> {
              assertThat(c.header(WebhookDispatcher.DELIVERY_HEADER))
                  .isEqualTo(app + ":0-" + position);
              assertThat(signed(c)).isTrue();
              assertThat(pairs(c).size()).isLessThanOrEqualTo(3);
            });
    // The part's signature covers the part: sent again as the last one, or with no part, it fails.
    WebhookStub.Call first = parts.get(0);
    for (String forged : new String[] {"part=1; last", "part=3; last", null}) {
      assertThat(
              WebhookSignature.verify(
                  SECRET,
                  first.header(WebhookDispatcher.DELIVERY_HEADER),
                  forged,
                  first.body(),
                  first.header(WebhookSignature.SNAPSHOT_HEADER)))
          .as("part 1 under %s", forged)
          .isFalse();
    }
    Map<String, String> all = new HashMap<>();
    parts.forEach(c -> all.putAll(pairs(c)));
    Map<String, String> expected = new HashMap<>();
    online.forEach(p -> expected.put(p, "online"));
    assertThat(all).isEqualTo(expected);
  }

  @Test
  void partsAreBoundedInBytes_andAnEmptySnapshotIsOneLastPart() throws Exception {
    long app = app();
    long empty = app(); // no users
    List<String> online = users(app, 10, i -> true);
    int one = WebhookDispatcher.entryBytes(online.get(0), PresenceStatus.ONLINE);
    int max = 2 + 4 * one; // four users a part

    start(1000, max);

    await().atMost(WAIT).until(() -> snapshots() == 2);
    List<WebhookStub.Call> ofApp =
        parts(hook.calls()).stream()
            .filter(c -> c.header(WebhookDispatcher.DELIVERY_HEADER).startsWith(app + ":"))
            .toList();
    assertThat(ofApp)
        .extracting(c -> c.header(WebhookDispatcher.SNAPSHOT_HEADER))
        .containsExactly("part=1", "part=2", "part=3; last");
    assertThat(ofApp).allSatisfy(c -> assertThat(c.body().length).isLessThanOrEqualTo(max));
    assertThat(ofApp).extracting(c -> pairs(c).size()).containsExactly(4, 4, 2);
    List<WebhookStub.Call> ofEmpty =
        parts(hook.calls()).stream()
            .filter(c -> c.header(WebhookDispatcher.DELIVERY_HEADER).startsWith(empty + ":"))
            .toList();
    assertThat(ofEmpty).hasSize(1);
    assertThat(ofEmpty.get(0).text()).isEqualTo("[]");
    assertThat(ofEmpty.get(0).header(WebhookDispatcher.SNAPSHOT_HEADER)).isEqualTo("part=1; last");
  }

  @Test
  void aMostlyOfflineApplication_readsWholePages_evenWhenAPartIsNearlyFull() throws Exception {
    long app = app();
    // 3 users not offline among 203, in PUID order wherever they fall; 3 a part.
    List<String> online = users(app, 203, i -> i % 70 == 0);
    assertThat(online).hasSize(3);
    AtomicInteger pageReads = new AtomicInteger();
    snapshotState =
        (PresenceStateStore)
            Proxy.newProxyInstance(
                PresenceStateStore.class.getClassLoader(),
                new Class<?>[] {PresenceStateStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("presence") && args[0] instanceof List<?>) {
                    pageReads.incrementAndGet();
                  }
                  try {
                    return method.invoke(presence, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });

    start(3, 1 << 20);
    await().atMost(WAIT).until(() -> snapshots() == 1);

    List<WebhookStub.Call> parts = parts(hook.calls());
    assertThat(parts).hasSize(1);
    assertThat(parts.get(0).header(WebhookDispatcher.SNAPSHOT_HEADER)).isEqualTo("part=1; last");
    assertThat(pairs(parts.get(0)).keySet()).containsExactlyInAnyOrderElementsOf(online);
    // One page holds all 203 (a page cut to the room left read one offline user per page once
    // two were taken: about 70 reads).
    assertThat(pageReads).hasValue(1);
  }

  @Test
  void updateCallsAreBoundedInBytesToo() throws Exception {
    long app = app();
    List<String> granted = users(app, 10, i -> true);
    int one = WebhookDispatcher.entryBytes(granted.get(0), PresenceStatus.AWAY);
    int max = 2 + 4 * one; // four users a call

    start(1000, max);
    await().atMost(WAIT).until(() -> snapshots() == 1);
    publish(app, granted, PresenceStatus.AWAY);

    await()
        .atMost(WAIT)
        .until(
            () -> {
              Map<String, String> seen = new HashMap<>();
              hook.calls().stream().filter(c -> !isSnapshot(c)).forEach(c -> seen.putAll(pairs(c)));
              return seen.keySet().containsAll(granted);
            });
    List<WebhookStub.Call> updates = hook.calls().stream().filter(c -> !isSnapshot(c)).toList();
    assertThat(updates).extracting(c -> pairs(c).size()).containsExactly(4, 4, 2);
    assertThat(updates).allSatisfy(c -> assertThat(c.body().length).isLessThanOrEqualTo(max));
  }

  @Test
  void aFailedMiddlePart_startsTheSnapshotAgainFromPartOne() throws Exception {
    long app = app();
    List<String> online = users(app, 8, i -> true);
    hook.then(WebhookStub.Behaviour.status(200), WebhookStub.Behaviour.status(500));

    start(3, 1 << 20);

    await().atMost(WAIT).until(() -> snapshots() == 1);
    List<WebhookStub.Call> parts = parts(hook.calls());
    assertThat(parts)
        .extracting(c -> c.header(WebhookDispatcher.SNAPSHOT_HEADER))
        .containsExactly("part=1", "part=2", "part=1", "part=2", "part=3; last");
    // The retry is a whole snapshot: its parts list every user online.
    Map<String, String> all = new HashMap<>();
    parts.subList(2, 5).forEach(c -> all.putAll(pairs(c)));
    assertThat(all.keySet()).containsExactlyInAnyOrderElementsOf(online);
    assertThat(pairs(parts.get(2))).isEqualTo(pairs(parts.get(0)));
    assertThat(cursor(app)).hasValueSatisfying(c -> assertThat(c.unknown()).isFalse());
  }

  @Test
  void aReceiverThatRefusesLargeBodies_getsTheSnapshotAndLaterUpdates_inHalvedCalls()
      throws Exception {
    long app = app();
    List<String> online = users(app, 260, i -> true);
    int one = WebhookDispatcher.entryBytes(online.get(0), PresenceStatus.ONLINE);
    int cap = 2 + 180 * one; // 260 users are refused, 130 pass
    hook.refuseAbove(cap);

    start(1000, 1 << 20);

    await().atMost(WAIT).until(() -> snapshots() == 1);
    assertThat(registry.counter("presence.webhooks.limit_lowered").getCount()).isEqualTo(1);
    assertThat(webhooks.userLimit(app)).isEqualTo(130);
    List<WebhookStub.Call> parts = parts(hook.calls());
    assertThat(parts.get(0).ok()).isFalse();
    assertThat(pairs(parts.get(0))).hasSize(260);
    List<WebhookStub.Call> taken = parts.subList(1, parts.size());
    assertThat(taken).allMatch(WebhookStub.Call::ok);
    // The second part ends the snapshot: no user not offline follows it.
    assertThat(taken).extracting(c -> pairs(c).size()).containsExactly(130, 130);
    assertThat(taken.get(1).header(WebhookDispatcher.SNAPSHOT_HEADER)).isEqualTo("part=2; last");

    // Later updates: 200 users change within an interval; calls carry at most 130 and pass.
    publish(app, online.subList(0, 200), PresenceStatus.AWAY);
    await()
        .atMost(WAIT)
        .until(
            () -> {
              Map<String, String> seen = new HashMap<>();
              hook.calls().stream()
                  .filter(c -> !isSnapshot(c) && c.ok())
                  .forEach(c -> seen.putAll(pairs(c)));
              return online.subList(0, 200).stream().allMatch(p -> "away".equals(seen.get(p)));
            });
    List<WebhookStub.Call> updates = hook.calls().stream().filter(c -> !isSnapshot(c)).toList();
    assertThat(updates).allMatch(WebhookStub.Call::ok);
    assertThat(updates).allSatisfy(c -> assertThat(pairs(c).size()).isLessThanOrEqualTo(130));
    assertThat(updates).allSatisfy(c -> assertThat(c.body().length).isLessThanOrEqualTo(cap));
  }

  @Test
  void a413ToACallAtTheFloor_isAnOrdinaryFailure() throws Exception {
    long app = app();
    users(app, 5, i -> true);
    hook.refuseAbove(10); // refuses every non-empty body

    start(1000, 1 << 20);

    await().atMost(WAIT).until(() -> parts(hook.calls()).size() >= 2);
    assertThat(registry.counter("presence.webhooks.limit_lowered").getCount()).isZero();
    assertThat(webhooks.userLimit(app)).isEqualTo(1000);
    assertThat(snapshots()).isZero();
    assertThat(cursor(app)).hasValueSatisfying(c -> assertThat(c.unknown()).isTrue());
  }
}
