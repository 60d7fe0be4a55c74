package org.presence.loadtest.engine;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.presence.loadtest.metrics.Clock;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.scenario.Population;
import org.presence.loadtest.scenario.RunContext;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.scenario.VirtualUser;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs this process's slice of a {@link Simulation}: starts each of its users at its scheduled time
 * on the next event loop, lets them run their steps, stops them all when the maximum duration has
 * passed, and waits (boundedly) for them to close their connections. Injector {@code k} of {@code
 * n} runs users {@code k, k+n, k+2n, ...} of every population, so n processes together run the same
 * users on the same schedule as one would.
 */
public final class Runner implements RunContext {
  private static final Logger LOG = LoggerFactory.getLogger(Runner.class);

  /** How long stopped users get to close their connections. */
  static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final Simulation simulation;
  private final Target target;
  private final Metrics metrics;
  private final EventLoopGroup loops;
  private final Tokens tokens;
  private final int injector;
  private final int injectors;
  private final int apps;
  private final long deviceUsers;
  private final Set<VirtualUser> live = ConcurrentHashMap.newKeySet();
  private final AtomicLong outstanding = new AtomicLong();
  private final AtomicLong foreground = new AtomicLong();
  private final CountDownLatch allDone = new CountDownLatch(1);
  private volatile boolean stopping;
  private volatile boolean injecting = true;
  private volatile Thread injectorThread;

  /** A runner of slice {@code injector} of {@code injectors}. */
  public Runner(
      Simulation simulation,
      Target target,
      Metrics metrics,
      EventLoopGroup loops,
      Tokens tokens,
      int injector,
      int injectors) {
    this.simulation = simulation;
    this.target = target;
    this.metrics = metrics;
    this.loops = loops;
    this.tokens = tokens;
    this.injector = injector;
    this.injectors = injectors;
    this.apps =
        (int)
            Math.max(
                1,
                simulation.populations().stream()
                    .filter(p -> p.role() == Population.Role.APPS)
                    .mapToLong(p -> p.profile().users())
                    .max()
                    .orElse(1));
    this.deviceUsers = simulation.deviceUsers();
  }

  @Override
  public Target target() {
    return target;
  }

  @Override
  public Metrics metrics() {
    return metrics;
  }

  @Override
  public String assertion(long user) {
    return tokens.get(user);
  }

  @Override
  public int apps() {
    return apps;
  }

  @Override
  public long deviceUsers() {
    return deviceUsers;
  }

  @Override
  public boolean stopping() {
    return stopping;
  }

  /** A user's place in the start schedule. */
  private record Start(long atNanos, Population population, long base, long index) {}

  /**
   * Runs the slice, starting the schedule at wall-clock {@code startAtMillis} ({@link
   * Clock#millis()}), and returns when every user ended or the maximum duration and the grace
   * passed.
   */
  public void run(long startAtMillis) throws InterruptedException {
    long startNanos = System.nanoTime() + Math.max(0, startAtMillis - Clock.millis()) * 1_000_000L;
    long stopNanos = startNanos + simulation.maxDuration().toNanos();
    Thread starter = new Thread(() -> inject(startNanos, stopNanos), "lt-injector-" + injector);
    starter.setDaemon(true);
    injectorThread = starter;
    outstanding.incrementAndGet(); // held by the injector thread until it has started everyone
    foreground.incrementAndGet(); // likewise
    starter.start();
    long waitNanos = stopNanos - System.nanoTime();
    boolean finished = waitNanos > 0 && allDone.await(waitNanos, TimeUnit.NANOSECONDS);
    if (!finished) {
      stop();
      starter.join(STOP_GRACE.toMillis());
      if (!allDone.await(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("{} users still running {} after the stop", live.size(), STOP_GRACE);
      }
    }
    stopping = true;
  }

  /** Ends the run: users end at their next step, sleeping users wake now. */
  public void stop() {
    stopping = true;
    injecting = false;
    for (VirtualUser u : live) {
      u.wake();
    }
    Thread t = injectorThread;
    if (t != null) {
      LockSupport.unpark(t); // it may be waiting for the next user's start time
    }
  }

  private void inject(long startNanos, long stopNanos) {
    try {
      PriorityQueue<Start> queue = new PriorityQueue<>(Comparator.comparingLong(Start::atNanos));
      long deviceBase = 0;
      for (Population p : simulation.populations()) {
        long base = p.role() == Population.Role.DEVICES ? deviceBase : 0;
        if (p.role() == Population.Role.DEVICES) {
          deviceBase += p.profile().users();
        }
        if (injector < p.profile().users()) {
          queue.add(new Start(startNanos + p.profile().offsetNanos(injector), p, base, injector));
        }
      }
      while (!queue.isEmpty() && injecting) {
        Start s = queue.poll();
        long wait = s.atNanos() - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
          if (!injecting || System.nanoTime() >= stopNanos) {
            break;
          }
          if (s.atNanos() > System.nanoTime()) {
            queue.add(s);
            continue;
          }
        }
        startUser(s.population(), s.base() + s.index());
        long next = s.index() + injectors;
        if (next < s.population().profile().users()) {
          queue.add(
              new Start(
                  startNanos + s.population().profile().offsetNanos(next),
                  s.population(),
                  s.base(),
                  next));
        }
      }
    } finally {
      userEnded(true);
    }
  }

  private void startUser(Population p, long id) {
    EventLoop loop = loops.next();
    VirtualUser u = new VirtualUser(id, loop, this);
    outstanding.incrementAndGet();
    boolean fg = !p.background();
    if (fg) {
      foreground.incrementAndGet();
    }
    live.add(u);
    metrics.count(Metrics.USERS_STARTED);
    loop.execute(
        () ->
            p.runFor(u)
                .whenComplete(
                    (v, e) -> {
                      if (e != null) {
                        metrics.error(ClientException.kindOf(e));
                      } else {
                        metrics.count(Metrics.USERS_DONE);
                      }
                      closeQuietly(u)
                          .whenComplete(
                              (x, y) -> {
                                live.remove(u);
                                userEnded(fg);
                              });
                    }));
  }

  private static CompletionStage<Void> closeQuietly(VirtualUser u) {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    if (u.device() != null && u.device().isOpen()) {
      all.add(u.device().disconnect().toCompletableFuture());
    }
    if (u.app() != null && u.app().isOpen()) {
      all.add(u.app().disconnect().toCompletableFuture());
    }
    return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]))
        .exceptionally(t -> null)
        .orTimeout(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(t -> null);
  }

  private void userEnded(boolean fg) {
    if (fg) {
      foregroundEnded();
    }
    if (outstanding.decrementAndGet() == 0) {
      allDone.countDown();
    }
  }

  private void foregroundEnded() {
    if (foreground.decrementAndGet() == 0 && hasForeground() && !stopping) {
      // Only background users remain (subscribers holding until the end): the run is over.
      stop();
    }
  }

  private boolean hasForeground() {
    return simulation.populations().stream().anyMatch(p -> !p.background());
  }
}
