package org.presence.gateway.notify;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;

/**
 * Removes delivered notifications from their queues, many users per store call ({@link
 * CallBatcher}): requests that arrive while {@code maxInFlight} calls are running go together in
 * the next {@link NotificationQueues#removeDelivered} (up to {@code maxUsers} users), so the store
 * sees fewer, larger transactions exactly when deliveries are many, and a lone delivery is removed
 * at once.
 */
final class Remover {
  private record Request(
      String user,
      List<Notification> items,
      Map<Long, List<String>> ids,
      CompletableFuture<List<Notification>> done) {}

  /** Counts distinct users: a call takes requests until it names {@code maxUsers} users. */
  private static final class Users implements CallBatcher.Budget<Request> {
    private final int max;
    private final Set<String> users = new HashSet<>();

    Users(int max) {
      this.max = max;
    }

    @Override
    public boolean full() {
      return users.size() >= max;
    }

    @Override
    public void add(Request r) {
      users.add(r.user());
    }
  }

  private final CallBatcher<Request, Map<String, List<Notification>>> batcher;

  Remover(NotificationQueues queues, int maxUsers, int maxInFlight) {
    this.batcher =
        new CallBatcher<>(
            maxInFlight,
            () -> new Users(maxUsers),
            new CallBatcher.Call<>() {
              @Override
              public CompletionStage<Map<String, List<Notification>>> start(List<Request> batch) {
                Map<String, List<Notification>> merged = new HashMap<>();
                for (Request r : batch) {
                  merged.computeIfAbsent(r.user(), u -> new ArrayList<>()).addAll(r.items());
                }
                return queues.removeDelivered(merged);
              }

              @Override
              public void finish(
                  List<Request> batch, Map<String, List<Notification>> removed, Throwable e) {
                // Two sessions of one user may ask for the same item: it was removed once, and
                // goes to the first request only, so that its receipt is sent once.
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
              }
            });
  }

  /** Removes {@code items} from {@code user}'s queues; completes with those actually removed. */
  CompletionStage<List<Notification>> remove(String user, List<Notification> items) {
    Map<Long, List<String>> ids = new HashMap<>();
    for (Notification n : items) {
      ids.computeIfAbsent(n.appId(), a -> new ArrayList<>()).add(n.id());
    }
    CompletableFuture<List<Notification>> done = new CompletableFuture<>();
    batcher.submit(new Request(user, items, ids, done));
    return done;
  }
}
