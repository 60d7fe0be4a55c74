package org.presence.gateway.webhook;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * The webhook calls one node makes at once, shared fairly. At most {@code max} calls are in flight
 * over all applications, and at most {@code perDeveloper} of them for the applications of one
 * developer. Calls that cannot start wait in order, never by polling: one queue per developer
 * (first come, first served among that developer's applications), and the developers take turns
 * (round robin) as slots free. Each application has at most one call in flight or waiting (its
 * sender sends one call at a time), so a developer's applications share that developer's turns.
 *
 * <p>Thread-safe. A started call runs on {@code executor}; its owner must {@link #release} the slot
 * exactly once when the call ends.
 */
final class CallSlots {
  /** A call waiting for a slot; {@link #cancel} withdraws it. */
  final class Ticket {
    private final String developer;
    private final Runnable start;
    private boolean done;

    private Ticket(String developer, Runnable start) {
      this.developer = developer;
      this.start = start;
    }

    /** Withdraws the call if it has not started; true if it was withdrawn. */
    boolean cancel() {
      synchronized (CallSlots.this) {
        if (done) {
          return false;
        }
        done = true;
        ArrayDeque<Ticket> q = waiting.get(developer);
        if (q != null) {
          q.remove(this);
          if (q.isEmpty()) {
            waiting.remove(developer);
          }
        }
        return true;
      }
    }
  }

  private final int max;
  private final int perDeveloper;
  private final Executor executor;
  // Guarded by this. The map's order is the developers' turn order.
  private final LinkedHashMap<String, ArrayDeque<Ticket>> waiting = new LinkedHashMap<>();
  private final Map<String, Integer> running = new HashMap<>();
  private int inFlight;

  CallSlots(int max, int perDeveloper, Executor executor) {
    this.max = max;
    this.perDeveloper = Math.min(perDeveloper, max);
    this.executor = executor;
  }

  /** Queues a call of {@code developer}'s; {@code start} runs when it has a slot. */
  Ticket request(String developer, Runnable start) {
    Ticket t = new Ticket(developer, start);
    List<Ticket> ready;
    synchronized (this) {
      waiting.computeIfAbsent(developer, k -> new ArrayDeque<>()).add(t);
      ready = admit();
    }
    run(ready);
    return t;
  }

  /** A call of {@code developer}'s ended: its slot goes to the next in turn. */
  void release(String developer) {
    List<Ticket> ready;
    synchronized (this) {
      inFlight--;
      running.merge(developer, -1, (a, b) -> a + b == 0 ? null : a + b);
      ready = admit();
    }
    run(ready);
  }

  /** Calls in flight now (tests, metrics). */
  synchronized int inFlight() {
    return inFlight;
  }

  /** Calls waiting for a slot now (metrics). */
  synchronized int waiting() {
    return waiting.values().stream().mapToInt(ArrayDeque::size).sum();
  }

  /** Takes the calls that may start now, developers in turn. Holds the lock. */
  private List<Ticket> admit() {
    List<Ticket> ready = new ArrayList<>();
    while (inFlight < max) {
      String next = null;
      for (Map.Entry<String, ArrayDeque<Ticket>> e : waiting.entrySet()) {
        if (running.getOrDefault(e.getKey(), 0) < perDeveloper) {
          next = e.getKey();
          break;
        }
      }
      if (next == null) {
        break;
      }
      ArrayDeque<Ticket> queue = waiting.remove(next);
      Ticket t = queue.poll();
      t.done = true;
      inFlight++;
      running.merge(next, 1, Integer::sum);
      ready.add(t);
      if (!queue.isEmpty()) {
        waiting.put(next, queue); // to the back: the other developers' turns come first
      }
    }
    return ready;
  }

  private void run(List<Ticket> ready) {
    for (Ticket t : ready) {
      try {
        executor.execute(t.start);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        release(t.developer); // shutting down
      }
    }
  }
}
