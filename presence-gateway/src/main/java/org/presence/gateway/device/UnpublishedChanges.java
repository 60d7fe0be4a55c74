package org.presence.gateway.device;

import com.codahale.metrics.Counter;
import dev.failsafe.Execution;
import dev.failsafe.RetryPolicy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.fanout.PresenceEvents;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.retry.RetryWaits;
import org.presence.protocol.model.ApplicationIds;
import org.presence.store.error.RateLimitedLog;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.PresenceView;
import org.presence.store.presence.UserPresence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The users whose presence change this node stored but could not hand to the fan-out (their grants
 * could not be read: PostgreSQL away and the grants not cached on the node; or the update log
 * refused the call), published again once it can be. A device's status can be refused and sent
 * again; a release (a socket closed, a dead node's devices, the sweep) cannot, and without this the
 * applications would show the user online until the user's next change.
 *
 * <p>Per user it remembers the highest version of the changes not published and their audiences.
 * Once the store is reachable again (the database's breaker closing, {@link #retryNow}; or the next
 * try of the backoff, {@link #FIRST_WAIT} doubling up to {@link #MAX_WAIT}), it reads each user's
 * <em>current</em> presence from the state store and publishes what each of those audiences sees
 * now, numbered with that remembered version. The update log's per-PUID guard then keeps each
 * application from seeing a presence twice: an application that already took a change of that
 * version or a later one (the user came back meanwhile, on this node or another) drops it, and one
 * whose last logged presence is the same does not log it again. A user who came back meanwhile is
 * thus shown as they are now, never offline. The guard remembers a PUID for the log's hour: a user
 * published after waiting longer may show an application the presence it last got once more
 * (docs/cluster.md, "An outage of more than an hour", says why that is left so).
 *
 * <p>Users are published one after the other on the {@code device-timers} thread's continuations; a
 * pass stops at its first failure (the store is still away: the others would fail the same way) and
 * the user that failed goes last. At most {@link #MAX_USERS} users are remembered; a change of one
 * more user is left unpublished, as before (counted in {@code
 * presence.device.presence.unpublished_dropped} and logged), until that user's next change. Nothing
 * here runs while nothing failed.
 */
final class UnpublishedChanges implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(UnpublishedChanges.class);

  /** Most users remembered on a node. */
  static final int MAX_USERS = 10_000;

  /** The wait before the first try, doubled after each failed pass. */
  static final Duration FIRST_WAIT = Duration.ofSeconds(1);

  /** The longest wait between tries. */
  static final Duration MAX_WAIT = Duration.ofSeconds(15);

  private final PresenceStateStore state;
  private final PresenceEvents events;
  private final ScheduledExecutorService timers;
  private final Clock clock;
  private final int maxUsers;
  private final RetryPolicy<Object> policy;
  private final long firstWaitMillis;
  private final Counter dropped;
  private final Counter republished;
  private final RateLimitedLog droppedLog = new RateLimitedLog(LOG, Duration.ofSeconds(10));

  /** What waits, by user; in the order they are tried. */
  private final LinkedHashMap<String, Pending> users = new LinkedHashMap<>();

  /** The next pass, when one is waiting for its time; guarded by {@code this}. */
  private ScheduledFuture<?> next;

  /** Whether a pass is waiting or running; guarded by {@code this}. */
  private boolean active;

  /** The run of failed passes, or null; used by the running pass only. */
  private Execution<Object> failures;

  private volatile boolean closed;

  UnpublishedChanges(
      PresenceStateStore state,
      PresenceEvents events,
      ScheduledExecutorService timers,
      Clock clock,
      GatewayMetrics metrics) {
    this(state, events, timers, clock, metrics, MAX_USERS, FIRST_WAIT, MAX_WAIT);
  }

  UnpublishedChanges(
      PresenceStateStore state,
      PresenceEvents events,
      ScheduledExecutorService timers,
      Clock clock,
      GatewayMetrics metrics,
      int maxUsers,
      Duration firstWait,
      Duration maxWait) {
    this.state = state;
    this.events = events;
    this.timers = timers;
    this.clock = clock;
    this.maxUsers = maxUsers;
    this.policy = RetryWaits.backoff(firstWait, maxWait).build();
    this.firstWaitMillis = firstWait.toMillis();
    this.dropped = metrics.registry().counter("presence.device.presence.unpublished_dropped");
    this.republished = metrics.registry().counter("presence.device.presence.republished");
  }

  /**
   * Remembers that {@code update}'s changes of {@code user} were not published, to publish the
   * user's presence once it can be; past the most users remembered, counts and logs it instead.
   */
  void add(String user, PresenceUpdate update) {
    Pending failed = Pending.of(update);
    boolean start;
    synchronized (this) {
      Pending had = users.get(user);
      if (had == null && users.size() >= maxUsers) {
        dropped.inc();
        droppedLog.warn(
            "presence change of a user not published and not remembered: "
                + maxUsers
                + " users wait already; it is published with the user's next change");
        return;
      }
      users.put(user, had == null ? failed : had.and(failed));
      start = !active && !closed;
      if (start) {
        active = true;
      }
    }
    if (start) {
      schedule(firstWaitMillis);
    }
  }

  /** Users waiting to be published again. */
  synchronized int waiting() {
    return users.size();
  }

  /**
   * Runs the waiting pass now rather than at its time (the database is reachable again); nothing
   * when none waits for its time.
   */
  void retryNow() {
    synchronized (this) {
      if (next == null || closed || !next.cancel(false)) {
        return;
      }
      next = null;
    }
    schedule(0);
  }

  /** Runs a pass in {@code delayMillis}. */
  private void schedule(long delayMillis) {
    synchronized (this) {
      if (closed) {
        active = false;
        return;
      }
      try {
        next = timers.schedule(this::pass, delayMillis, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // Stopping.
        active = false;
      }
    }
  }

  /** A pass over the users waiting now, in order. */
  private void pass() {
    List<String> todo;
    synchronized (this) {
      next = null;
      todo = new ArrayList<>(users.keySet());
    }
    publishFrom(todo, 0, 0);
  }

  /** Publishes {@code todo} from index {@code from} on, one user after the other. */
  private void publishFrom(List<String> todo, int from, int done) {
    int i = from;
    String user = null;
    Pending pending = null;
    synchronized (this) {
      for (; i < todo.size() && pending == null; i++) {
        user = todo.get(i);
        pending = users.get(user);
      }
    }
    if (closed) {
      return;
    }
    if (pending == null) {
      passDone(done);
      return;
    }
    String who = user;
    Pending what = pending;
    int after = i;
    CompletableFuture<Void> published;
    try {
      published =
          state
              .presence(who)
              .thenCompose(p -> events.publish(who, what.current(p), clock.millis()))
              .toCompletableFuture();
    } catch (RuntimeException e) {
      published = CompletableFuture.failedFuture(e);
    }
    published.whenCompleteAsync(
        (v, e) -> {
          if (e != null) {
            failed(who, e, done);
            return;
          }
          republished.inc();
          synchronized (this) {
            // A change that failed meanwhile (a higher version) stays for the next pass.
            users.remove(who, what);
          }
          publishFrom(todo, after, done + 1);
        },
        timers);
  }

  /** The pass found the store still away: the user goes last, the next pass waits longer. */
  private void failed(String user, Throwable e, int done) {
    if (failures == null) {
      failures = Execution.of(policy);
    }
    long wait = Math.max(1, RetryWaits.next(failures, e));
    int left;
    synchronized (this) {
      Pending p = users.remove(user);
      if (p != null) {
        users.put(user, p);
      }
      left = users.size();
    }
    if (failures.getAttemptCount() == 1 || done > 0) {
      LOG.warn(
          "presence of {} users not published yet ({} published this try), again in {} ms: {}",
          left,
          done,
          wait,
          e.toString());
    }
    schedule(wait);
  }

  private void passDone(int done) {
    if (failures != null || done > 0) {
      LOG.info("presence of {} users published again", done);
    }
    failures = null;
    synchronized (this) {
      if (users.isEmpty() || closed) {
        active = false;
        return;
      }
    }
    // Users whose change failed while the pass ran.
    schedule(firstWaitMillis);
  }

  /**
   * What waits for one user: the highest version of the changes not published, and their audiences
   * ({@link PresenceChange#ALL_APPS}: the shared one).
   */
  record Pending(long version, Set<Long> audiences) {
    static Pending of(PresenceUpdate update) {
      long version = 0;
      Set<Long> audiences = new TreeSet<>();
      for (PresenceChange c : update.changes()) {
        version = Math.max(version, c.version());
        audiences.add(c.appId());
      }
      return new Pending(version, Set.copyOf(audiences));
    }

    Pending and(Pending more) {
      Set<Long> all = new TreeSet<>(audiences);
      all.addAll(more.audiences);
      return new Pending(Math.max(version, more.version), Set.copyOf(all));
    }

    /**
     * What {@code p} shows each of these audiences now, as changes numbered {@link #version}: the
     * shared view (for every application without a view of its own now), and what each application
     * named sees (its own view, or the shared one when no device names it any more). These are the
     * audiences the changes not published were for, so no application hears of a user it would not
     * have heard of then.
     */
    PresenceUpdate current(UserPresence p) {
      List<PresenceChange> changes = new ArrayList<>(audiences.size());
      for (long app : audiences) {
        PresenceView v = app == PresenceChange.ALL_APPS ? p.allApps() : p.seenBy(app);
        changes.add(new PresenceChange(app, v.status(), v.message(), version));
      }
      long[] own = new long[p.byApp().size()];
      int n = 0;
      for (long app : p.byApp().keySet()) {
        own[n++] = app;
      }
      return new PresenceUpdate(true, changes, ApplicationIds.of(own, n));
    }
  }

  /** Stops trying; what waits stays unpublished. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      if (next != null) {
        next.cancel(false);
        next = null;
      }
      active = false;
    }
  }
}
