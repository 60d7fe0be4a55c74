package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import com.codahale.metrics.MetricRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;

/**
 * The hub's periodic check of the log's position (issue 13, section 1: each check is a Redis {@code
 * GET} per application and node): skipped after an interval in which updates moved the hub on,
 * still made after a quiet one, and still catching a message lost with nothing after it. The checks
 * are run by hand (the scheduler captures them), so the test counts reads, not time.
 */
class AppHubPollTest {
  private static final long APP = 42;

  private final LocalAppUpdateLog store = new LocalAppUpdateLog();
  private final AtomicInteger positionReads = new AtomicInteger();

  /** The store, counting {@link AppUpdateLog#lastSeq} calls. */
  private final AppUpdateLog log =
      (AppUpdateLog)
          Proxy.newProxyInstance(
              AppUpdateLog.class.getClassLoader(),
              new Class<?>[] {AppUpdateLog.class},
              (proxy, method, args) -> {
                if (method.getName().equals("lastSeq")) {
                  positionReads.incrementAndGet();
                }
                try {
                  return method.invoke(store, args);
                } catch (InvocationTargetException e) {
                  throw e.getCause();
                }
              });

  private final List<Runnable> checks = new CopyOnWriteArrayList<>();

  /**
   * Runs one-off timers (the gap fill's wait); captures the periodic check instead of running it.
   */
  private final ScheduledThreadPoolExecutor timers =
      new ScheduledThreadPoolExecutor(1) {
        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(
            Runnable command, long initialDelay, long delay, TimeUnit unit) {
          checks.add(command);
          return schedule(() -> {}, 1, TimeUnit.DAYS);
        }
      };

  @AfterEach
  void stop() {
    timers.shutdownNow();
  }

  private static UpdatesConfig config() {
    Duration s = Duration.ofSeconds(1);
    Duration reorder = Duration.ofMillis(20);
    return new UpdatesConfig(
        s, 10, 10, 10, 16, Duration.ofMinutes(1), 10, 10, reorder, s, s, 10, 0, false, 1, 10, 20);
  }

  private static void awaitHead(AppHub hub, long seq) throws InterruptedException {
    for (int i = 0; i < 500 && hub.head() != seq; i++) {
      Thread.sleep(10);
    }
    assertThat(hub.head()).isEqualTo(seq);
  }

  @Test
  void aCheckAfterAnIntervalWithUpdates_readsNothing_andALostLastMessageIsStillFound()
      throws Exception {
    AppUpdatePublisher publisher = new AppUpdatePublisher(log, new LocalPresenceBus());
    AppHub hub =
        new AppHub(
            APP,
            publisher,
            new LocalPresenceBus(),
            config(),
            timers,
            new UpdateMetrics(new MetricRegistry()));
    join(hub.start());
    assertThat(checks).hasSize(1);
    Runnable check = checks.get(0);
    int reads = positionReads.get();
    // The log's numbers need not start at 1.
    long h = hub.head();

    // A quiet interval: the check reads the position.
    check.run();
    assertThat(positionReads.get()).isEqualTo(reads + 1);

    // Updates came in the interval: nothing to read.
    join(publisher.publish(APP, List.of(new AppUpdate.New("p1", PresenceStatus.ONLINE, ""))));
    join(publisher.publish(APP, List.of(new AppUpdate.New("p2", PresenceStatus.AWAY, ""))));
    awaitHead(hub, h + 2);
    check.run();
    assertThat(positionReads.get()).isEqualTo(reads + 1);

    // Quiet again: read.
    check.run();
    assertThat(positionReads.get()).isEqualTo(reads + 2);

    // An update whose message never reaches the hub (appended, not published), with nothing after
    // it: the next check sees the lead, the one after reads it from the log.
    join(store.append(APP, List.of(new AppUpdate.New("p3", PresenceStatus.ONLINE, ""))));
    check.run();
    assertThat(hub.head()).isEqualTo(h + 2);
    check.run();
    awaitHead(hub, h + 3);
    assertThat(positionReads.get()).isEqualTo(reads + 4);

    // An update heard after a lost one: the gap is filled from the log without any check.
    join(store.append(APP, List.of(new AppUpdate.New("p4", PresenceStatus.AWAY, ""))));
    join(publisher.publish(APP, List.of(new AppUpdate.New("p5", PresenceStatus.ONLINE, ""))));
    awaitHead(hub, h + 5);
    assertThat(positionReads.get()).isEqualTo(reads + 4);
    hub.close();
  }
}
