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

  /**
   * The error kind of a started user whose step was still under way when the stop's first half of
   * {@link #STOP_GRACE} ran out (a connect the server had not answered, a request not yet
   * answered): it is cut off, its connections closed at once.
   */
  public static final String UNFINISHED = "unfinished";

  /**
   * The error kind of a user whose start time came before the stop but whom the harness never
   * started (it fell behind its schedule).
   */
  public static final String NOT_STARTED = "not-started";

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
  private Duration grace = STOP_GRACE;

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

  /** A shorter grace than {@link #STOP_GRACE}, for tests. */
  Runner grace(Duration d) {
    this.grace = d;
    return this;
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
      long graceEnd = System.nanoTime() + grace.toNanos();
      long cutOffAt = System.nanoTime() + grace.toNanos() / 2;
      injectorThread.join(Math.max(1, grace.toMillis() / 2));
      if (!allDone.await(Math.max(0, cutOffAt - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        cutOff();
        if (!allDone.await(Math.max(0, graceEnd - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          LOG.warn("{} users' connections still closing {} after the stop", live.size(), grace);
        }
      }
    }
    stopping = true;
  }

  /**
   * The first half of the grace is over: every user still under way is counted {@link #UNFINISHED}
   * (unless it was already counted) and every connection still open or opening is closed at once.
   */
  private void cutOff() {
    long cut = 0;
    for (VirtualUser u : live) {
      if (u.markEnded()) {
        metrics.error(UNFINISHED);
        cut++;
      }
      u.abort();
    }
    if (cut > 0) {
      LOG.warn(
          "{} users cut off {} after the stop, their step unfinished", cut, grace.dividedBy(2));
    }
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
          if (s.atNanos() > System.nanoTime()) {
            queue.add(s);
            if (!injecting || System.nanoTime() >= stopNanos) {
              break;
            }
            continue;
          }
          if (!injecting || System.nanoTime() >= stopNanos) {
            queue.add(s);
            break;
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
      countNotStarted(queue, Math.min(System.nanoTime(), stopNanos));
    } finally {
      userEnded(true);
    }
  }

  /**
   * Counts {@link #NOT_STARTED} the users left in {@code queue} whose time came before {@code
   * until}.
   */
  private void countNotStarted(PriorityQueue<Start> queue, long until) {
    long missed = 0;
    for (Start s : queue) {
      long origin = s.atNanos() - s.population().profile().offsetNanos(s.index());
      for (long i = s.index(); i < s.population().profile().users(); i += injectors) {
        if (origin + s.population().profile().offsetNanos(i) > until) {
          break;
        }
        missed++;
      }
    }
    if (missed > 0) {
      metrics.error(NOT_STARTED, missed);
      LOG.warn("{} users not started by the stop: the harness fell behind its schedule", missed);
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
                      if (!u.markEnded()) {
                        // counted when it was cut off at the stop
                      } else if (e != null) {
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
