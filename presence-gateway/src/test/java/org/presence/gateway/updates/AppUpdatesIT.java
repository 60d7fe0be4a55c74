package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.updates.UpdatesFixture.device;
import static org.presence.gateway.updates.UpdatesFixture.status;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.gateway.testing.UpdateClient.Item;
import org.presence.gateway.testing.WebhookStub;
import org.presence.gateway.updates.UpdatesFixture.App;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/**
 * Presence updates on a two-node cluster over PostgreSQL and Redis: the whole contract with the
 * devices, the applications and the webhook spread over both nodes, plus what only a cluster has —
 * one numbering for changes made on both nodes, and exactly one node calling an application's
 * webhook, another taking over when it stops.
 */
class AppUpdatesIT extends AppUpdatesContract {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;

  @BeforeAll
  static void start() {
    cluster = TestCluster.create(AppUpdatesIT.class, root, "updates-node", updatesSettings());
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    for (TestNode n : new TestNode[] {a, b}) {
      if (n != null) {
        n.close();
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Every node's settings: fast webhooks, and the loopback stubs allowed as on a test cluster. */
  private static Map<String, String> updatesSettings() {
    Map<String, String> s = new java.util.HashMap<>(UpdatesFixture.settings());
    s.put("outbound.allow-loopback", "true");
    return s;
  }

  @Override
  protected TestNode nodeA() {
    return a;
  }

  @Override
  protected TestNode nodeB() {
    return b;
  }

  @Override
  protected long staleSince(long appId, long last) {
    // An hour passes: the log's entries are gone, its numbering stays.
    try (RedisBackend redis = RedisBackend.connect(Backends.redis(cluster.prefix()))) {
      redis.commands().sync().del(redis.keys().app("ulog", appId), redis.keys().app("uidx", appId));
    }
    return last - 1;
  }

  /**
   * Issue 13, section 5: one user's devices on two nodes change at the same moment, in random
   * rounds. Each node decides its change against the user's state and logs it; the two log appends
   * may arrive in either order. The application's updates for the PUID never repeat a presence (an
   * earlier run saw {@code online#28, online#29} with the {@code away} between them dropped, about
   * 3 rounds in 40) and end on the current presence.
   */
  @Test
  void oneUsersDevicesOnTwoNodes_changingAtOnce_neverRepeatAPresence_andEndOnTheTruth()
      throws Exception {
    App app = fx.activeApp(a, "Twice");
    String email = fx.email("two-devices");
    String puid = fx.grant(a, email, app);
    long seed = System.nanoTime();
    java.util.Random random = new java.util.Random(seed);
    PresenceStatus[] choices = {
      PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.UNAVAILABLE
    };
    try (DeviceTestClient phone = device(a, email, "phone");
        DeviceTestClient laptop = device(b, email, "laptop");
        UpdateClient c = UpdateClient.connected(b, app.id(), app.key(), -1)) {
      Map<String, Item> start = c.snapshot().users();
      java.util.concurrent.ExecutorService two =
          java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        for (int round = 0; round < 40; round++) {
          PresenceStatus sp = choices[random.nextInt(choices.length)];
          PresenceStatus sl = choices[random.nextInt(choices.length)];
          java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
          var p =
              two.submit(
                  () -> {
                    together.await(5, java.util.concurrent.TimeUnit.SECONDS);
                    status(phone, sp, null);
                    return null;
                  });
          var l =
              two.submit(
                  () -> {
                    together.await(5, java.util.concurrent.TimeUnit.SECONDS);
                    status(laptop, sl, null);
                    return null;
                  });
          p.get(10, java.util.concurrent.TimeUnit.SECONDS);
          l.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
      } finally {
        two.shutdownNow();
      }
      List<Item> updates = c.drain(java.time.Duration.ofSeconds(2));
      String truth;
      try (UpdateClient fresh = UpdateClient.connected(a, app.id(), app.key(), -1)) {
        Item t = fresh.snapshot().users().get(puid);
        truth = t == null ? "offline" : t.status();
      }
      String before = start.containsKey(puid) ? start.get(puid).status() : "offline";
      List<String> seen = new ArrayList<>();
      for (Item u : updates) {
        assertThat(u.puid()).isEqualTo(puid);
        seen.add(u.status() + "#" + u.seq());
        assertThat(u.status())
            .as("seed %d: %s repeats the presence before it (%s)", seed, u, seen)
            .isNotEqualTo(before);
        before = u.status();
      }
      assertThat(before)
          .as("seed %d: the sequence %s ends on the truth", seed, seen)
          .isEqualTo(truth);
    }
  }

  /** Script calls Redis ran so far ({@code EVALSHA} and {@code EVAL}, INFO commandstats). */
  private static long scriptCalls(RedisBackend redis) {
    long n = 0;
    for (String line : redis.commands().sync().info("commandstats").split("\r?\n")) {
      if (line.startsWith("cmdstat_evalsha:calls=") || line.startsWith("cmdstat_eval:calls=")) {
        n += Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
      }
    }
    return n;
  }

  /**
   * Issue 13, section 1: the status updates of many devices of one node made at once go to Redis as
   * a few script calls (each deciding a batch of users' states and logging their changes), not one
   * state call per status plus the log's calls; every status is acknowledged and reaches the
   * application once.
   */
  @Test
  void statusesOfManyDevicesAtOnce_takeFarFewerScriptCallsThanStatuses() {
    App app = fx.activeApp(a, "Batched");
    int n = 60;
    List<DeviceTestClient> devices = new ArrayList<>();
    try (RedisBackend redis = RedisBackend.connect(Backends.redis(cluster.prefix()));
        UpdateClient onB = UpdateClient.connected(b, app.id(), app.key(), -1)) {
      for (int i = 0; i < n; i++) {
        String e = fx.email("batched" + i);
        fx.grant(a, e, app);
        devices.add(device(a, e, "d"));
      }
      onB.snapshot();
      long before = scriptCalls(redis);
      for (DeviceTestClient d : devices) {
        d.send(new DeviceMessage.StatusUpdate(d.session(), PresenceStatus.ONLINE, "batched", null));
      }
      for (DeviceTestClient d : devices) {
        assertThat(d.reply()).as("status acknowledged").isInstanceOf(DeviceMessage.Ack.class);
      }
      long calls = scriptCalls(redis) - before;
      // Before: at least one presence.lua call per status (60), plus the log's calls. The few
      // others counted here are the nodes' own (leases, webhook sender), made meanwhile.
      assertThat(calls).isLessThan(n / 2);
      List<Item> got = onB.updates(n);
      assertThat(got).extracting(Item::status).containsOnly("online");
      assertThat(got).extracting(Item::puid).doesNotHaveDuplicates();
    } finally {
      devices.forEach(DeviceTestClient::close);
    }
  }

  @Test
  void changesMadeOnBothNodes_areNumberedOnce_andEveryConnectionSeesTheSameSequence() {
    App app = fx.activeApp(a, "Numbers");
    List<DeviceTestClient> devices = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String e = fx.email("u" + i);
      fx.grant(a, e, app);
      devices.add(device(i % 2 == 0 ? a : b, e, "d"));
    }
    try (UpdateClient onA = UpdateClient.connected(a, app.id(), app.key(), -1);
        UpdateClient onB = UpdateClient.connected(b, app.id(), app.key(), -1)) {
      onA.snapshot();
      onB.snapshot();
      int rounds = 20;
      List<Thread> threads = new ArrayList<>();
      for (DeviceTestClient d : devices) {
        Thread t =
            new Thread(
                () -> {
                  for (int n = 0; n < rounds; n++) {
                    status(d, n % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.AWAY, null);
                  }
                });
        t.start();
        threads.add(t);
      }
      for (Thread t : threads) {
        try {
          t.join(30_000);
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      }
      List<Item> fromA = onA.updates(rounds * devices.size());
      List<Item> fromB = onB.updates(rounds * devices.size());
      assertThat(fromA).isEqualTo(fromB);
      long first = fromA.get(0).seq();
      for (int i = 0; i < fromA.size(); i++) {
        assertThat(fromA.get(i).seq()).as("consecutive numbers").isEqualTo(first + i);
      }
    } finally {
      devices.forEach(DeviceTestClient::close);
    }
  }

  @Test
  void webhook_exactlyOneNodeSends_andAnotherTakesOverWhenItStops_withNothingLost() {
    App app = fx.activeApp(a, "OneSender");
    // Two more nodes hold the devices, so that one of them sends and may be stopped.
    TestNode c = cluster.start(Map.of());
    TestNode d = cluster.start(Map.of());
    List<TestNode> all = List.of(a, b, c, d);
    try (WebhookStub hook = WebhookStub.start()) {
      fx.webhook(app, hook.url("/hook"));
      List<DeviceTestClient> devices = new ArrayList<>();
      List<String> puids = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String e = fx.email("u" + i);
        puids.add(fx.grant(a, e, app));
        devices.add(device(i % 2 == 0 ? c : d, e, "d"));
      }
      for (int n = 0; n < 3; n++) {
        for (DeviceTestClient dev : devices) {
          status(dev, n % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.AWAY, "r" + n);
        }
      }
      await()
          .atMost(WAIT)
          .until(
              () ->
                  lastState(hook).size() == 4
                      && lastState(hook).values().stream().allMatch("online"::equals));
      List<TestNode> senders =
          all.stream().filter(n -> n.server().webhooks().sending(app.id())).toList();
      assertThat(senders).as("nodes sending the webhook").hasSize(1);
      // The sender stops; another node takes the webhook over and goes on from its cursor.
      TestNode sender = senders.get(0);
      TestNode other = sender == c ? d : c;
      if (sender == c || sender == d) {
        sender.close();
      }
      String late = fx.email("late");
      String pLate = fx.grant(a, late, app);
      try (DeviceTestClient dev = device(other, late, "late")) {
        status(dev, PresenceStatus.UNAVAILABLE, null);
        await().atMost(WAIT).until(() -> "unavailable".equals(lastState(hook).get(pLate)));
      }
      assertThat(
              all.stream()
                  .filter(n -> n != sender && n.server().webhooks().sending(app.id()))
                  .count())
          .isLessThanOrEqualTo(1);
      List<WebhookStub.Call> calls = hook.calls();
      assertSpaced(calls, 1000);
      // Deliveries never overlap: each call's update numbers follow the previous call's.
      long previousEnd = -1;
      for (WebhookStub.Call call : calls) {
        String[] range = call.header("X-Presence-Delivery").split(":")[1].split("-");
        long from = Long.parseLong(range[0]);
        assertThat(from)
            .as("call %s", call.header("X-Presence-Delivery"))
            .isGreaterThan(previousEnd);
        previousEnd = Long.parseLong(range[1]);
      }
      devices.forEach(DeviceTestClient::close);
    } finally {
      c.close();
      d.close();
    }
  }

  @Override
  protected TestNode startNode() {
    return cluster.start(Map.of());
  }
}
