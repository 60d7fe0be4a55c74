package org.presence.loadtest.engine;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
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
import java.util.function.Consumer;
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
 *
 * <p>Background users (the apps of {@code status-fanout}, the receiving devices of {@code notify})
 * receive what the others send, wherever those run, so two moments are the whole run's, not one
 * slice's ({@link Phase}): the other users start only once every background user is in place
 * (holding until the end, or ended), and the background users stay until every other user has
 * ended, then until what was sent has arrived ({@link #DRAIN_QUIET}). A runner alone decides both
 * itself; the runners of several injector processes each say when their slice reached a phase
 * ({@link #coordinated}) and go on when told that every slice has ({@link #everyReached}).
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

  /**
   * After every foreground user of the run has ended, background users stay until no frame has
   * arrived for this long (what was sent before the end is still arriving), and at most {@link
   * #DRAIN_MAX}.
   */
  static final Duration DRAIN_QUIET = Duration.ofSeconds(1);

  /** The longest the background users wait for frames after the foreground ended. */
  static final Duration DRAIN_MAX = Duration.ofSeconds(5);

  /** How often the waiting thread looks at the run's state while it waits for a phase. */
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** The moments that are the whole run's, not one slice's. */
  public enum Phase {
    /**
     * Every background user is in place: holding until the end (subscribed, connected), or ended.
     * No foreground user starts before.
     */
    BACKGROUND_READY("background-ready"),
    /** Every foreground user has ended: the background users drain, then the run stops. */
    FOREGROUND_DONE("foreground-done");

    private final String wire;

    Phase(String wire) {
      this.wire = wire;
    }

    /** Its name in the injector protocol. */
    public String wire() {
      return wire;
    }

    /** The phase named {@code wire}, or null. */
    public static Phase of(String wire) {
      for (Phase p : values()) {
        if (p.wire.equals(wire)) {
          return p;
        }
      }
      return null;
    }
  }

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

  /** Background users of this slice not yet in place: not started, or started and not holding. */
  private final AtomicLong backgroundPending = new AtomicLong();

  /** Background users started and not yet in place. */
  private final Set<VirtualUser> backgroundUnsettled = ConcurrentHashMap.newKeySet();

  private final EnumSet<Phase> reached = EnumSet.noneOf(Phase.class);
  private volatile boolean backgroundReadyEverywhere;
  private final CountDownLatch foregroundDoneEverywhere = new CountDownLatch(1);
  private Consumer<Phase> phases = this::everyReached;

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
    long background = 0;
    for (Population p : simulation.populations()) {
      if (p.background()) {
        background += p.profile().sliceSize(injector, injectors);
      }
    }
    this.backgroundPending.set(background);
  }

  /**
   * One slice of a run over several processes: {@code tell} hears each {@link Phase} this slice
   * reaches (once each), and the runner goes on from it only when {@link #everyReached} says that
   * every slice has. Alone (the default), a runner goes on at once.
   */
  public Runner coordinated(Consumer<Phase> tell) {
    this.phases = tell;
    return this;
  }

  /** Every slice of the run reached {@code phase}. Safe from any thread. */
  public void everyReached(Phase phase) {
    switch (phase) {
      case BACKGROUND_READY -> {
        backgroundReadyEverywhere = true;
        Thread t = injectorThread;
        if (t != null) {
          LockSupport.unpark(t); // it may be holding back a foreground user
        }
      }
      case FOREGROUND_DONE -> foregroundDoneEverywhere.countDown();
    }
  }

  /** This slice reached {@code phase}: said once. */
  private void reach(Phase phase) {
    synchronized (reached) {
      if (!reached.add(phase)) {
        return;
      }
    }
    phases.accept(phase);
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

  @Override
  public void holdingUntilEnd(VirtualUser user) {
    settled(user);
  }

  /** A background user is in place (holding, or ended); the last of the slice's says so. */
  private void settled(VirtualUser user) {
    if (backgroundUnsettled.remove(user) && backgroundPending.decrementAndGet() == 0) {
      reach(Phase.BACKGROUND_READY);
    }
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
    if (backgroundPending.get() == 0) {
      reach(Phase.BACKGROUND_READY);
    }
    starter.start();
    boolean finished = awaitEndOrForegroundDone(stopNanos);
    if (!finished && foregroundDoneEverywhere.getCount() == 0) {
      finished = drain(stopNanos);
    }
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
   * Waits until every user ended (true), or every foreground user of the run did, or {@code
   * stopNanos} came (false).
   */
  private boolean awaitEndOrForegroundDone(long stopNanos) throws InterruptedException {
    while (true) {
      long left = stopNanos - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      if (allDone.await(Math.min(left, POLL_NANOS), TimeUnit.NANOSECONDS)) {
        return true;
      }
      if (foregroundDoneEverywhere.getCount() == 0) {
        return false;
      }
    }
  }

  /**
   * Every foreground user of the run has ended, but what they sent last may still be on its way to
   * the background users: they stay until no frame has arrived for {@link #DRAIN_QUIET} (at most
   * {@link #DRAIN_MAX}, and not past {@code stopNanos}). True when every user ended meanwhile.
   */
  private boolean drain(long stopNanos) throws InterruptedException {
    long now = System.nanoTime();
    long until = Math.min(stopNanos, now + DRAIN_MAX.toNanos());
    long received = metrics.total(Metrics.RECEIVED);
    long quietSince = now;
    while (now < until && !stopping) {
      if (allDone.await(Math.min(until - now, POLL_NANOS), TimeUnit.NANOSECONDS)) {
        return true;
      }
      now = System.nanoTime();
      long r = metrics.total(Metrics.RECEIVED);
      if (r != received) {
        received = r;
        quietSince = now;
      } else if (now - quietSince >= DRAIN_QUIET.toNanos()) {
        return false;
      }
    }
    return false;
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
    PriorityQueue<Start> background = new PriorityQueue<>(Comparator.comparingLong(Start::atNanos));
    PriorityQueue<Start> others = new PriorityQueue<>(Comparator.comparingLong(Start::atNanos));
    try {
      long deviceBase = 0;
      for (Population p : simulation.populations()) {
        long base = p.role() == Population.Role.DEVICES ? deviceBase : 0;
        if (p.role() == Population.Role.DEVICES) {
          deviceBase += p.profile().users();
        }
        if (injector < p.profile().users()) {
          (p.background() ? background : others)
              .add(new Start(startNanos + p.profile().offsetNanos(injector), p, base, injector));
        }
      }
      while (injecting && !(background.isEmpty() && others.isEmpty())) {
        // A foreground user starts at its time, but not before every background user is in place.
        PriorityQueue<Start> from =
            others.isEmpty()
                    || !backgroundReadyEverywhere
                    || (!background.isEmpty()
                        && background.peek().atNanos() <= others.peek().atNanos())
                ? background
                : others;
        if (from.isEmpty()) {
          // Only foreground users are left, held back until the background is in place.
          LockSupport.parkNanos(Math.max(1, Math.min(POLL_NANOS, stopNanos - System.nanoTime())));
          if (System.nanoTime() >= stopNanos) {
            break;
          }
          continue;
        }
        Start s = from.peek();
        long wait = s.atNanos() - System.nanoTime();
        if (wait > 0) {
          // Woken early by the stop, or because the background became ready: look again.
          LockSupport.parkNanos(Math.min(wait, Math.max(1, stopNanos - System.nanoTime())));
          if (System.nanoTime() >= stopNanos) {
            break;
          }
          continue;
        }
        if (System.nanoTime() >= stopNanos) {
          break;
        }
        from.poll();
        startUser(s.population(), s.base() + s.index());
        long next = s.index() + injectors;
        if (next < s.population().profile().users()) {
          from.add(
              new Start(
                  startNanos + s.population().profile().offsetNanos(next),
                  s.population(),
                  s.base(),
                  next));
        }
      }
      long until = Math.min(System.nanoTime(), stopNanos);
      countNotStarted(background, until);
      countNotStarted(others, until);
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
    if (p.background()) {
      backgroundUnsettled.add(u);
    }
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
                      settled(u); // an ended background user waits for nothing
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
      // Only background users remain (subscribers holding until the end): once every slice's
      // foreground has ended and what it sent has arrived, the run is over.
      reach(Phase.FOREGROUND_DONE);
    }
  }

  private boolean hasForeground() {
    return simulation.populations().stream().anyMatch(p -> !p.background());
  }
}
