package org.presence.gateway.notify;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;

/**
 * Removes delivered notifications from their queues, many users per store call: requests that
 * arrive while {@code maxInFlight} calls are running wait and go together in the next {@link
 * NotificationQueues#removeAll} (up to {@code maxUsers} users), so the store sees fewer, larger
 * transactions exactly when deliveries are many, and a lone delivery is removed at once.
 */
final class Remover {
  private record Request(String user, Map<Long, List<String>> ids, CompletableFuture<List<Notification>> done) {}

  private final NotificationQueues queues;
  private final int maxUsers;
  private final int maxInFlight;
  private final ConcurrentLinkedQueue<Request> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();

  Remover(NotificationQueues queues, int maxUsers, int maxInFlight) {
    this.queues = queues;
    this.maxUsers = maxUsers;
    this.maxInFlight = maxInFlight;
  }

  /** Removes {@code items} from {@code user}'s queues; completes with those actually removed. */
  CompletionStage<List<Notification>> remove(String user, List<Notification> items) {
    Map<Long, List<String>> ids = new HashMap<>();
    for (Notification n : items) {
      ids.computeIfAbsent(n.appId(), a -> new ArrayList<>()).add(n.id());
    }
    CompletableFuture<List<Notification>> done = new CompletableFuture<>();
    waiting.add(new Request(user, ids, done));
    drain();
    return done;
  }

  private void drain() {
    while (!waiting.isEmpty()) {
      int n = inFlight.get();
      if (n >= maxInFlight) {
        return;
      }
      if (!inFlight.compareAndSet(n, n + 1)) {
        continue;
      }
      List<Request> batch = new ArrayList<>();
      Set<String> users = new HashSet<>();
      Request r;
      while (users.size() < maxUsers && (r = waiting.poll()) != null) {
        batch.add(r);
        users.add(r.user());
      }
      if (batch.isEmpty()) {
        inFlight.decrementAndGet();
        continue;
      }
      run(batch);
    }
  }

  private void run(List<Request> batch) {
    Map<String, Map<Long, List<String>>> merged = new HashMap<>();
    for (Request r : batch) {
      Map<Long, List<String>> m = merged.computeIfAbsent(r.user(), u -> new HashMap<>());
      r.ids().forEach((app, ids) -> m.computeIfAbsent(app, a -> new ArrayList<>()).addAll(ids));
    }
    CompletionStage<Map<String, List<Notification>>> call;
    try {
      call = queues.removeAll(merged);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    call.whenComplete(
        (removed, e) -> {
          inFlight.decrementAndGet();
          // Two sessions of one user may ask for the same item: it was removed once, and goes to
          // the first request only, so that its receipt is sent once.
          Set<String> given = new HashSet<>();
          for (Request r : batch) {
            if (e != null) {
              r.done().completeExceptionally(e);
              continue;
            }
            List<Notification> mine = new ArrayList<>();
            for (Notification n : removed.getOrDefault(r.user(), List.of())) {
              List<String> asked = r.ids().get(n.appId());
              if (asked != null && asked.contains(n.id()) && given.add(n.id())) {
                mine.add(n);
              }
            }
            r.done().complete(mine);
          }
          drain();
        });
  }
}
