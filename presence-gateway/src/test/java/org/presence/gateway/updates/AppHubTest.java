package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import com.codahale.metrics.MetricRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.notify.Receipts;
import org.presence.gateway.testing.ForwardingBus;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.bus.PresenceBus;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateBatchCodec;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;

/**
 * {@link AppHub} over the in-process log and bus. The bus here says it reaches other nodes, so the
 * hub listens to the application's channel, and the test plays "another node": it appends to the
 * log itself and decides which batch messages reach the bus, in which order. Pins: updates held in
 * number order without gaps whatever their arrival order, a gap filled from the log after the
 * reorder wait (at once when too much waits behind it), a lost last message found by the poll, the
 * bounded buffer (older cursors read the log), a log that moved on without the hub, and close.
 */
class AppHubTest {
  private static final long APP = 42;
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final LocalPresenceBus local = new LocalPresenceBus();
  private final PresenceBus bus = new BetweenNodes(local);
  private final UpdateMetrics metrics = new UpdateMetrics(new MetricRegistry());
  private AppUpdateLog log = new LocalAppUpdateLog();
  private AppUpdatePublisher publisher;
  private AppHub hub;
  private int puids;

  @AfterEach
  void stop() {
    if (hub != null) {
      hub.close();
    }
    timers.shutdownNow();
    local.close();
  }

  private static UpdatesConfig config(int bufferSize, Duration reorderWait, Duration poll) {
    return new UpdatesConfig(
        Duration.ofSeconds(10),
        100,
        100,
        100,
        bufferSize,
        Duration.ofHours(1),
        100,
        100,
        reorderWait,
        poll,
        Duration.ofSeconds(30),
        16,
        0,
        false,
        10,
        10,
        10);
  }

  /** A hub (not started) of the application over {@code over}, its timers on {@code on}. */
  private AppHub hubOver(PresenceBus over, UpdatesConfig config, ScheduledExecutorService on) {
    publisher = new AppUpdatePublisher(log, over);
    return new AppHub(APP, publisher, over, config, on, metrics);
  }

  /** A started hub; the log's position when it started. */
  private long start(UpdatesConfig config) {
    hub = hubOver(bus, config, timers);
    assertThat(hub.read(-1, 10).outcome())
        .as("before it knows the log")
        .isEqualTo(AppHub.Outcome.WAIT);
    join(hub.start());
    long p = join(log.lastSeq(APP));
    assertThat(hub.head()).isEqualTo(p);
    return p;
  }

  /** Another node's {@code n} updates, in the log only; numbered. */
  private List<AppUpdate> appendElsewhere(int n) {
    List<AppUpdate.New> news = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      news.add(new AppUpdate.New("puid-" + puids++, PresenceStatus.ONLINE, ""));
    }
    return join(log.append(APP, news));
  }

  /** The other node's batch message for {@code updates} reaches the bus. */
  private void busMessage(List<AppUpdate> updates) {
    join(bus.publish(AppUpdateBatchCodec.channel(APP), AppUpdateBatchCodec.encodeBatch(updates)));
  }

  private List<Long> heldAfter(long cursor) {
    AppHub.Read r = hub.read(cursor, 1000);
    return r.updates().stream().map(AppUpdate::seq).toList();
  }

  @Test
  void thisNodesUpdates_areHeldInOrder_andReadAfterAnyCursorUpToMax() {
    long p = start(config(64, Duration.ofMillis(200), Duration.ofHours(1)));
    assertThat(hub.read(p, 10).outcome()).isEqualTo(AppHub.Outcome.NONE);
    // This node's updates reach the hub as objects, before publish completes.
    join(publisher.publish(APP, List.of(news(), news(), news())));
    assertThat(heldAfter(p)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 3));
    assertThat(hub.read(p, 2).updates()).extracting(AppUpdate::seq).containsExactly(p + 1, p + 2);
    assertThat(heldAfter(p + 2)).containsExactly(p + 3);
    assertThat(hub.read(p + 3, 10).outcome()).isEqualTo(AppHub.Outcome.NONE);
  }

  private AppUpdate.New news() {
    return new AppUpdate.New("puid-" + puids++, PresenceStatus.AWAY, "m");
  }

  @Test
  void updatesArrivingOutOfOrder_areHeldInNumberOrder_withoutReadingTheLog() {
    long p = start(config(64, Duration.ofSeconds(30), Duration.ofHours(1)));
    List<AppUpdate> a = appendElsewhere(2);
    List<AppUpdate> b = appendElsewhere(3);
    busMessage(b);
    // The later batch waits for the earlier one: nothing after p is readable yet.
    await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> hub.head() == p);
    assertThat(hub.read(p, 10).outcome()).isEqualTo(AppHub.Outcome.NONE);
    assertThat(hub.buffered()).isEqualTo(3);
    busMessage(a);
    await().atMost(WAIT).until(() -> hub.head() == p + 5);
    assertThat(heldAfter(p)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 5));
    // A repeated message changes nothing.
    busMessage(a);
    busMessage(b);
    await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> hub.buffered() == 5);
    assertThat(heldAfter(p)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 5));
    assertThat(metrics.gapFills().getCount()).isZero();
  }

  @Test
  void aLostMessageBeforeOthers_isReadFromTheLogAfterTheReorderWait() {
    long p = start(config(64, Duration.ofMillis(300), Duration.ofHours(1)));
    appendElsewhere(2); // its bus message is lost
    List<AppUpdate> b = appendElsewhere(2);
    busMessage(b);
    await().atMost(WAIT).until(() -> hub.head() == p + 4);
    assertThat(heldAfter(p)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 4));
    assertThat(metrics.gapFills().getCount()).isEqualTo(1);
  }

  @Test
  void aGapWithAFullBufferBehindIt_isFilledAtOnce_andNoMoreThanTheBufferIsHeld() {
    // A reorder wait longer than the test: only the bound can make the hub read the gap.
    long p = start(config(4, Duration.ofHours(1), Duration.ofHours(1)));
    appendElsewhere(1); // lost
    for (int i = 0; i < 6; i++) {
      busMessage(appendElsewhere(1));
      assertThat(hub.buffered()).isLessThanOrEqualTo(4);
    }
    await().atMost(WAIT).until(() -> hub.head() == p + 7);
    assertThat(metrics.gapFills().getCount()).isPositive();
    assertThat(hub.buffered()).isLessThanOrEqualTo(4);
    // The buffer holds the newest four; an older cursor is told to read the log itself.
    assertThat(heldAfter(p + 3)).isEqualTo(UpdatesFixture.seqs(p + 4, p + 7));
    assertThat(hub.read(p + 2, 10).outcome()).isEqualTo(AppHub.Outcome.BEHIND);
  }

  @Test
  void aLostLastMessage_isFoundByThePoll() {
    long p = start(config(64, Duration.ofMillis(100), Duration.ofMillis(100)));
    appendElsewhere(3); // lost, and nothing follows it
    await().atMost(WAIT).until(() -> hub.head() == p + 3);
    assertThat(heldAfter(p)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 3));
  }

  @Test
  void aLogThatMovedOnBeyondWhatItKeeps_restartsTheHubAtTheLogsEnd() {
    log = new LocalAppUpdateLog(Clock.systemUTC(), AppUpdateLog.RETENTION, 3);
    long p = start(config(64, Duration.ofMillis(100), Duration.ofHours(1)));
    appendElsewhere(5); // lost; the log keeps only the last three
    List<AppUpdate> last = appendElsewhere(1);
    busMessage(last);
    await().atMost(WAIT).until(() -> hub.head() == p + 6);
    // Every cursor before the restart is now behind the buffer: its connection asks the log,
    // which tells it to start over with a snapshot.
    assertThat(hub.read(p, 10).outcome()).isEqualTo(AppHub.Outcome.BEHIND);
    assertThat(hub.read(p + 6, 10).outcome()).isEqualTo(AppHub.Outcome.NONE);
  }

  @Test
  void aMalformedBusMessage_isIgnored_andLaterOnesStillCount() {
    long p = start(config(64, Duration.ofSeconds(30), Duration.ofHours(1)));
    join(
        bus.publish(
            AppUpdateBatchCodec.channel(APP), "not a batch".getBytes(StandardCharsets.UTF_8)));
    busMessage(appendElsewhere(2));
    await().atMost(WAIT).until(() -> hub.head() == p + 2);
    assertThat(heldAfter(p)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 2));
  }

  @Test
  void afterClose_nothingMoreIsTaken() {
    long p = start(config(64, Duration.ofMillis(100), Duration.ofMillis(100)));
    hub.close();
    busMessage(appendElsewhere(2));
    await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> hub.head() == p);
    assertThat(hub.buffered()).isZero();
    assertThat(local.mayReach(AppUpdateBatchCodec.channel(APP))).as("unsubscribed").isFalse();
  }

  /**
   * A hub closed while its subscriptions are out (the node shutting down as an application's first
   * connection arrives) ends them when they come, and never starts its poll: nothing of it stays on
   * the bus or the timers. Before, they were kept by the closed hub for good.
   */
  @Test
  void closedWhileStarting_endsItsSubscriptionsWhenTheyCome_andNeverPolls() {
    ScheduledThreadPoolExecutor ownTimers = new ScheduledThreadPoolExecutor(1);
    try {
      HeldBus held = new HeldBus(local);
      AppHub starting =
          hubOver(held, config(64, Duration.ofMillis(100), Duration.ofMillis(100)), ownTimers);
      CompletableFuture<Void> started = starting.start().toCompletableFuture();
      starting.close();
      held.release();
      await().atMost(WAIT).until(started::isDone);
      assertThat(started).isCompletedExceptionally();
      assertThat(local.mayReach(AppUpdateBatchCodec.channel(APP))).as("updates").isFalse();
      assertThat(local.mayReach(Receipts.channel(APP))).as("receipts").isFalse();
      assertThat(ownTimers.getQueue()).as("no poll scheduled").isEmpty();
    } finally {
      ownTimers.shutdownNow();
    }
  }

  /**
   * A start that fails on one channel (its receipts subscription refused) gives back the other: the
   * application's update channel is not left subscribed by a hub nobody holds.
   */
  @Test
  void aStartFailingOnOneChannel_endsTheOther() {
    PresenceBus refusingReceipts =
        new BetweenNodes(local) {
          @Override
          public CompletionStage<Subscription> subscribe(String channel, Listener listener) {
            return channel.equals(Receipts.channel(APP))
                ? CompletableFuture.failedFuture(new IllegalStateException("refused"))
                : super.subscribe(channel, listener);
          }
        };
    AppHub failing =
        hubOver(
            refusingReceipts, config(64, Duration.ofMillis(100), Duration.ofMillis(100)), timers);
    CompletableFuture<Void> started = failing.start().toCompletableFuture();
    await().atMost(WAIT).until(started::isDone);
    assertThat(started).isCompletedExceptionally();
    assertThat(local.mayReach(AppUpdateBatchCodec.channel(APP))).as("updates").isFalse();
    failing.close();
  }

  /** The in-process bus between nodes, whose subscriptions complete only when the test says. */
  private static final class HeldBus extends BetweenNodes {
    private final CompletableFuture<Void> gate = new CompletableFuture<>();

    HeldBus(LocalPresenceBus bus) {
      super(bus);
    }

    void release() {
      gate.complete(null);
    }

    @Override
    public CompletionStage<Subscription> subscribe(String channel, Listener listener) {
      return gate.thenCompose(v -> super.subscribe(channel, listener));
    }
  }

  /** The in-process bus, presented as one between nodes (so the hub listens to it). */
  private static class BetweenNodes extends ForwardingBus {
    BetweenNodes(LocalPresenceBus bus) {
      super(bus);
    }

    @Override
    public String kind() {
      return "between-nodes";
    }

    @Override
    public boolean mayReach(String channel) {
      return true;
    }
  }
}
