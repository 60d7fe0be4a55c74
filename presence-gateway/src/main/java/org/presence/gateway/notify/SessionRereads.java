package org.presence.gateway.notify;

import com.codahale.metrics.Counter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.presence.gateway.device.DeviceRegistry;
import org.presence.gateway.device.NotificationSink;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every open session of a node reads its queue again, as at its opening, if its user has items:
 * what {@link NotificationDelivery} does when wake-ups may have been lost (its bus subscription
 * came back, or more users lost theirs than it remembers).
 *
 * <p>The node asks which users have items, {@link #CHECK_BATCH} at a time, one question at a time
 * (one call per Redis primary each), and those users' sessions read, {@link #IN_FLIGHT} reads at a
 * time for the whole node. Most queues are empty, and a node of many sessions would otherwise send
 * a read per session to a Redis that may just be back. A session already waiting is not queued
 * twice when several passes come together.
 *
 * <p>What fails (the question, or a session's read: Redis may not be back yet, the pub/sub
 * connection often comes back before the command one) is tried again on the {@link Retries}
 * schedule, with one log line per try, not one per session.
 */
final class SessionRereads {
  private static final Logger LOG = LoggerFactory.getLogger(SessionRereads.class);

  /** Users asked about at once ({@link NotificationQueues#withItems}) before reading again. */
  static final int CHECK_BATCH = 256;

  /** Queue reads in flight at most for the node. */
  static final int IN_FLIGHT = 32;

  private final NotificationQueues queues;
  private final DeviceRegistry registry;
  private final Executor work;
  private final Retries retries;
  private final Counter failures;
  private final BiConsumer<NotificationSink, List<Notification>> push;

  /** Sessions waiting to be checked for items, each once however many passes asked. */
  private final Queue<NotificationSink> checks = new ConcurrentLinkedQueue<>();

  private final Set<NotificationSink> checksQueued = ConcurrentHashMap.newKeySet();

  /** Whether a chain of checks runs over {@link #checks}: one at a time for the node. */
  private final AtomicBoolean checking = new AtomicBoolean();

  /** Sessions whose user has items, waiting to read their queues. */
  private final Queue<NotificationSink> rereads = new ConcurrentLinkedQueue<>();

  private final Set<NotificationSink> rereadsQueued = ConcurrentHashMap.newKeySet();

  /** Chains of reads running over {@link #rereads}, at most {@link #IN_FLIGHT}. */
  private final AtomicInteger rereaders = new AtomicInteger();

  /** Sessions whose re-read failed, asked about again at the next try. */
  private final Set<NotificationSink> recheck = ConcurrentHashMap.newKeySet();

  private final AtomicBoolean retryScheduled = new AtomicBoolean();

  /** The try: 0 for the one a pass starts. */
  private final AtomicInteger attempt = new AtomicInteger();

  /** The last try a failure was logged for: one line per try. */
  private final AtomicInteger logged = new AtomicInteger(-1);

  /**
   * @param push pushes what a session's re-read found to it
   */
  SessionRereads(
      NotificationQueues queues,
      DeviceRegistry registry,
      Executor work,
      Retries retries,
      Counter failures,
      BiConsumer<NotificationSink, List<Notification>> push) {
    this.queues = queues;
    this.registry = registry;
    this.work = work;
    this.retries = retries;
    this.failures = failures;
    this.push = push;
  }

  /** A pass over every open session of the node, from the first try. */
  void all() {
    attempt.set(0);
    logged.set(-1);
    registry.forEachSink(
        s -> {
          if (checksQueued.add(s)) {
            checks.add(s);
          }
        });
    startChecking();
  }

  private void startChecking() {
    if (!checks.isEmpty() && checking.compareAndSet(false, true)) {
      checkNext();
    }
  }

  /**
   * The chain of checks: asks about the next {@link #CHECK_BATCH} waiting sessions' users, queues
   * the sessions of those with items for a read, then goes on when the answer is in (in a loop when
   * it is in already).
   */
  private void checkNext() {
    while (true) {
      List<NotificationSink> batch = new ArrayList<>();
      Set<String> users = new HashSet<>();
      for (NotificationSink s; batch.size() < CHECK_BATCH && (s = checks.poll()) != null; ) {
        checksQueued.remove(s);
        batch.add(s);
        users.add(s.user());
      }
      if (batch.isEmpty()) {
        checking.set(false);
        // A session queued after the poll but before the flag went down found the chain running.
        startChecking();
        return;
      }
      CompletableFuture<Set<String>> answer;
      try {
        answer = queues.withItems(users).toCompletableFuture();
      } catch (RuntimeException e) {
        answer = CompletableFuture.failedFuture(e);
      }
      if (!answer.isDone()) {
        answer
            .handleAsync(
                (withItems, e) -> {
                  checked(batch, withItems, e);
                  checkNext();
                  return null;
                },
                work)
            .exceptionally(
                e -> {
                  // The pool refused the continuation (the node is stopping): the chain ends.
                  checking.set(false);
                  return null;
                });
        return;
      }
      Set<String> withItems = null;
      Throwable failure = null;
      try {
        withItems = answer.join();
      } catch (RuntimeException e) {
        failure = e;
      }
      checked(batch, withItems, failure);
    }
  }

  /**
   * Queues for a read the sessions of {@code batch} whose user has items; when the question failed,
   * asks again about them later ({@link #failed}): a read each would fail as the question did while
   * Redis is away.
   */
  private void checked(List<NotificationSink> batch, Set<String> withItems, Throwable failure) {
    if (failure != null) {
      failures.inc();
      failed(batch, failure);
      return;
    }
    for (NotificationSink s : batch) {
      if (withItems.contains(s.user()) && rereadsQueued.add(s)) {
        rereads.add(s);
      }
    }
    try {
      startReaders();
    } catch (RuntimeException e) {
      LOG.warn("pending notifications not read again; they wait", e);
    }
  }

  private void startReaders() {
    while (!rereads.isEmpty()) {
      int running = rereaders.get();
      if (running >= IN_FLIGHT) {
        return;
      }
      if (rereaders.compareAndSet(running, running + 1)) {
        readNext();
      }
    }
  }

  /**
   * One chain: reads the next waiting session, then goes on when that read is done (at once, in a
   * loop, when it is done already: a read failing at once, or a work pool running the continuation
   * on the caller, would otherwise nest one call per session).
   */
  private void readNext() {
    while (true) {
      NotificationSink next = rereads.poll();
      if (next == null) {
        rereaders.decrementAndGet();
        // A session queued after the poll but before the decrement found every chain running.
        startReaders();
        return;
      }
      rereadsQueued.remove(next);
      CompletableFuture<List<Notification>> read;
      try {
        read = queues.pending(next.user()).toCompletableFuture();
      } catch (RuntimeException e) {
        read = CompletableFuture.failedFuture(e);
      }
      CompletableFuture<?> done = read.whenComplete((items, e) -> read(next, items, e));
      if (!done.isDone()) {
        done.handleAsync(
                (v, e) -> {
                  readNext();
                  return null;
                },
                work)
            .exceptionally(
                e -> {
                  // The pool refused the continuation (the node is stopping): the chain ends.
                  rereaders.decrementAndGet();
                  return null;
                });
        return;
      }
    }
  }

  /** What a re-read of {@code session}'s queue gave: pushed, or the session tried again later. */
  private void read(NotificationSink session, List<Notification> items, Throwable e) {
    if (e != null) {
      failures.inc();
      failed(List.of(session), e);
    } else if (!items.isEmpty()) {
      push.accept(session, items);
    }
  }

  private void failed(List<NotificationSink> sessions, Throwable e) {
    recheck.addAll(sessions);
    int now = attempt.get();
    if (logged.getAndSet(now) != now) {
      if (Retries.last(now)) {
        LOG.warn(
            "pending notifications of open sessions not read again (try {} of {}, the last);"
                + " they wait for the next connect or notification: {}",
            now + 1,
            Retries.MAX,
            e.toString());
      } else {
        LOG.warn(
            "pending notifications of open sessions not read again (try {} of {}); again in {}"
                + " ms: {}",
            now + 1,
            Retries.MAX,
            Retries.delayMillis(now),
            e.toString());
      }
    }
    if (!retries.closed() && retryScheduled.compareAndSet(false, true)) {
      retries.after(now, this::again);
    }
  }

  /**
   * The sessions whose re-read failed ask again (those still open), or, after the last try, not.
   */
  private void again() {
    retryScheduled.set(false);
    int now = attempt.incrementAndGet();
    List<NotificationSink> sessions = new ArrayList<>(recheck);
    recheck.removeAll(sessions);
    if (now >= Retries.MAX) {
      attempt.set(0);
      return;
    }
    for (NotificationSink s : sessions) {
      if (registry.sink(s.session()) == s && checksQueued.add(s)) {
        checks.add(s);
      }
    }
    startChecking();
  }
}
