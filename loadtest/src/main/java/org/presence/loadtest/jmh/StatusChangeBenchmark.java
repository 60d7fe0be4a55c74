package org.presence.loadtest.jmh;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.LoggedPresenceEvents;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.permission.Grant;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.UserMessages;
import org.presence.store.updates.LocalAppUpdateLog;

/**
 * One status change on one embedded node, without the network (issue 14): a user with one or two
 * devices and one grant, whose first device alternates online and away (the second, when there is
 * one, stays unavailable, so every change is a real one). {@link #decide} is the state store's
 * decision alone ({@link LocalPresenceStateStore#update}); {@link #decideAndLog} adds what the
 * device path does next on one node: the fan-out to the grant ({@link LoggedPresenceEvents}), the
 * in-memory update log's numbering and the hand-over to this node's listener of the application
 * (what an update hub registers). Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is the
 * bytes allocated per change. Figures in BENCHMARKS.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class StatusChangeBenchmark {
  private static final String USER = "user-1";
  private static final long APP = 42;
  private static final String[] DEVICES = {"phone", "laptop"};

  /** The user's devices: the first changes, the second (if any) stays unavailable. */
  @Param({"1", "2"})
  public int devices;

  private LocalPresenceStateStore store;
  private LocalAppUpdateLog log;
  private LocalPresenceBus bus;
  private LoggedPresenceEvents events;
  private AppUpdatePublisher.Registration listening;
  private UUID session;
  private long now;
  private boolean away;
  private int heard;

  @Setup(Level.Trial)
  public void setUp() {
    store = new LocalPresenceStateStore();
    log = new LocalAppUpdateLog();
    bus = new LocalPresenceBus();
    AppUpdatePublisher publisher = new AppUpdatePublisher(log, bus);
    Instant t = Instant.now();
    CompletionStage<List<Grant>> grants =
        CompletableFuture.completedFuture(
            List.of(new Grant("puid-1", USER, APP, "Fred", true, t, t)));
    events = new LoggedPresenceEvents(publisher, user -> grants);
    listening = publisher.listen(APP, updates -> heard += updates.size());
    now = System.currentTimeMillis();
    session = UUID.randomUUID();
    for (int i = 0; i < devices; i++) {
      UUID s = i == 0 ? session : UUID.randomUUID();
      store.claim(USER, DEVICES[i], s, "node-1", 10, now);
      store.update(
          USER, DEVICES[i], s, PresenceStatus.UNAVAILABLE, null, null, UserMessages.NONE, now);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    listening.close();
    bus.close();
    store.close();
  }

  private PresenceUpdate change() {
    away = !away;
    return store
        .update(
            USER,
            DEVICES[0],
            session,
            away ? PresenceStatus.AWAY : PresenceStatus.ONLINE,
            null,
            null,
            UserMessages.NONE,
            ++now)
        .toCompletableFuture()
        .join();
  }

  /** The state store's decision on one change. */
  @Benchmark
  public PresenceUpdate decide() {
    return change();
  }

  /** The decision, then its update through the grant, the log and this node's listener. */
  @Benchmark
  public void decideAndLog(Blackhole bh) {
    PresenceUpdate u = change();
    bh.consume(events.publish(USER, u, now));
    bh.consume(heard);
  }
}
