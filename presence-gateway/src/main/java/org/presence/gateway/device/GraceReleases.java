package org.presence.gateway.device;

import dev.failsafe.Execution;
import dev.failsafe.RetryPolicy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.fanout.PresenceEvents;
import org.presence.gateway.retry.RetryWaits;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceUpdate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases the devices of closed sessions (the offline grace period): when a socket closes, its
 * device is released after {@code grace}, and only if the session still owns the device then: a
 * device that reconnected meanwhile (on any node) owns it under its new session, so its presence
 * never flapped. A release the store refuses is tried again; pending releases run at once when the
 * node stops (or are left to the cluster). Also releases the devices of dead nodes' sessions
 * (orphans). Timers run on the {@code device-timers} thread; every method but {@link #close}
 * returns at once.
 */
final class GraceReleases implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GraceReleases.class);

  /** How long a release the store refused waits before it is tried again (at most the grace). */
  private static final long RELEASE_RETRY_MS = 2000;

  private final PresenceStateStore state;
  private final PresenceEvents changes;
  private final ScheduledExecutorService timers;
  private final Duration grace;
  private final Clock clock;
  private final RetryPolicy<Object> retry;
  private final ConcurrentHashMap<UUID, PendingRelease> pending = new ConcurrentHashMap<>();
  private volatile boolean stopping;
  private volatile boolean leavePendingToCluster;

  /**
   * @param changes where real changes go (a stage that never fails)
   * @param grace how long a closed session's device stays ({@code offline-grace})
   */
  GraceReleases(
      PresenceStateStore state,
      PresenceEvents changes,
      ScheduledExecutorService timers,
      Duration grace,
      Clock clock) {
    this.state = state;
    this.changes = changes;
    this.timers = timers;
    this.grace = grace;
    this.clock = clock;
    this.retry =
        RetryWaits.fixed(
                Duration.ofMillis(Math.max(200, Math.min(grace.toMillis(), RELEASE_RETRY_MS))))
            .build();
  }

  /**
   * A session's socket closed: its device is released after the grace period, if the session still
   * owns it then.
   */
  void closed(String user, String device, UUID session) {
    PendingRelease p = new PendingRelease(user, device, session);
    long graceMillis = grace.toMillis();
    if (graceMillis == 0) {
      release(p);
      return;
    }
    pending.put(session, p);
    try {
      p.timer =
          timers.schedule(
              () -> {
                if (pending.remove(session, p)) {
                  release(p);
                }
              },
              graceMillis,
              TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // Stopping: close() releases what is pending.
    }
  }

  private CompletionStage<Void> release(PendingRelease p) {
    long now = clock.millis();
    return state
        .release(p.user, p.device, p.session, now)
        .handle(
            (u, e) -> {
              if (e != null) {
                LOG.warn(
                    "cannot release device of session {} (retrying): {}", p.session, e.toString());
                retryLater(p, e);
                return CompletableFuture.<Void>completedFuture(null);
              }
              return changes.publish(p.user, u, now);
            })
        .thenCompose(published -> published);
  }

  /**
   * A release the store refused (Redis unavailable) is tried again a little later (with {@link
   * RetryWaits}' jitter, so the releases a store outage held up do not all come back at once),
   * until it succeeds or the node stops, so a device does not stay online for want of one command.
   */
  private void retryLater(PendingRelease p, Throwable failure) {
    if (stopping) {
      return;
    }
    Execution<Object> failures = p.failures != null ? p.failures : Execution.of(retry);
    long delay = RetryWaits.next(failures, failure);
    PendingRelease again = new PendingRelease(p.user, p.device, p.session);
    again.failures = failures;
    if (pending.putIfAbsent(p.session, again) != null) {
      return;
    }
    try {
      again.timer =
          timers.schedule(
              () -> {
                if (pending.remove(again.session, again)) {
                  release(again);
                }
              },
              delay,
              TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException stopped) {
      pending.remove(again.session, again);
    }
  }

  /**
   * Releases a device that a session of a dead node owned ({@code NodeLiveness}'s clean-up) and
   * publishes the real changes. Several survivors may release the same device at once: the store
   * releases it for one of them only, so each change is published once. Completes with whether this
   * call released it; fails when the store is unavailable.
   */
  CompletionStage<Boolean> releaseOrphan(String user, String device, UUID session) {
    long now = clock.millis();
    return state
        .release(user, device, session, now)
        .thenCompose(
            u ->
                u == PresenceUpdate.NOT_OWNER
                    ? CompletableFuture.completedFuture(false)
                    : changes.publish(user, u, now).thenApply(v -> true));
  }

  /**
   * On {@link #close}, leaves the devices still in their grace period to the cluster instead of
   * releasing them: a draining node's devices reconnect to other nodes, which claim them without
   * their presence ever showing offline; those that do not come back are released by a survivor
   * once this node's lease has run out.
   */
  void leavePendingToCluster(boolean leave) {
    this.leavePendingToCluster = leave;
  }

  /** Releases pending for their grace period, now. */
  int pendingReleases() {
    return pending.size();
  }

  /**
   * Stops: releases the devices of closed sockets at once instead of after their grace period
   * (devices that reconnected elsewhere are not touched), waiting a few seconds for the store; or,
   * {@linkplain #leavePendingToCluster in a cluster}, leaves them to the survivors.
   */
  @Override
  public void close() {
    stopping = true;
    if (leavePendingToCluster) {
      for (PendingRelease p : pending.values()) {
        if (pending.remove(p.session, p) && p.timer != null) {
          p.timer.cancel(false);
        }
      }
      return;
    }
    List<CompletableFuture<Void>> releases = new ArrayList<>();
    for (PendingRelease p : pending.values()) {
      if (pending.remove(p.session, p)) {
        if (p.timer != null) {
          p.timer.cancel(false);
        }
        releases.add(release(p).toCompletableFuture());
      }
    }
    try {
      CompletableFuture.allOf(releases.toArray(new CompletableFuture[0])).get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("not every device released before stopping: {}", e.toString());
    }
  }

  /** A closed session whose device is released when its grace period ends. */
  private static final class PendingRelease {
    final String user;
    final String device;
    final UUID session;
    volatile ScheduledFuture<?> timer;

    /** The store's refusals of this release so far, or null (none yet). */
    Execution<Object> failures;

    PendingRelease(String user, String device, UUID session) {
      this.user = user;
      this.device = device;
      this.session = session;
    }
  }
}
