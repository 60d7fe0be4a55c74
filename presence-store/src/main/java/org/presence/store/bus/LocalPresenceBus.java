package org.presence.store.bus;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;
import org.presence.store.exec.StoreExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The in-process bus of the embedded default. Messages are delivered on one {@code bus-local}
 * thread, so order per channel holds and publishers never run listeners themselves, as with Redis.
 */
public final class LocalPresenceBus implements PresenceBus {
  private static final Logger LOG = LoggerFactory.getLogger(LocalPresenceBus.class);

  private final Map<String, List<LocalSubscription>> subscriptions = new ConcurrentHashMap<>();
  private final ExecutorService dispatcher =
      Executors.newSingleThreadExecutor(StoreExecutors.named("bus-local-"));

  @Override
  public String kind() {
    return "local";
  }

  @Override
  public CompletionStage<Void> publish(String channel, byte[] message) {
    List<LocalSubscription> subs = subscriptions.get(channel);
    if (subs == null || subs.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      dispatcher.execute(
          () -> {
            for (LocalSubscription s : subs) {
              if (s.open) {
                deliver(s, channel, message);
              }
            }
          });
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(
          new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "bus closed", e));
    }
    return CompletableFuture.completedFuture(null);
  }

  private static void deliver(LocalSubscription s, String channel, byte[] message) {
    try {
      s.listener.onMessage(channel, message);
    } catch (RuntimeException e) {
      LOG.error("bus listener on {} failed", channel, e);
    }
  }

  @Override
  public boolean mayReach(String channel) {
    List<LocalSubscription> subs = subscriptions.get(channel);
    return subs != null && !subs.isEmpty();
  }

  @Override
  public CompletionStage<Subscription> subscribe(String channel, Listener listener) {
    LocalSubscription s = new LocalSubscription(channel, listener);
    // Added inside the map's compute, as unsubscribe removes: added after it, a subscription
    // racing the channel's last unsubscribe could land in the list that call just removed.
    subscriptions.compute(
        channel,
        (c, list) -> {
          List<LocalSubscription> subs = list == null ? new CopyOnWriteArrayList<>() : list;
          subs.add(s);
          return subs;
        });
    return CompletableFuture.completedFuture(s);
  }

  @Override
  public CompletionStage<Void> ping() {
    return dispatcher.isShutdown()
        ? CompletableFuture.failedFuture(
            new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "bus closed"))
        : CompletableFuture.completedFuture(null);
  }

  @Override
  public void close() {
    dispatcher.shutdown();
    try {
      dispatcher.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class LocalSubscription implements Subscription {
    final String channel;
    final Listener listener;
    volatile boolean open = true;

    LocalSubscription(String channel, Listener listener) {
      this.channel = channel;
      this.listener = listener;
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public CompletionStage<Void> unsubscribe() {
      open = false;
      subscriptions.computeIfPresent(
          channel,
          (c, list) -> {
            list.remove(this);
            return list.isEmpty() ? null : list;
          });
      return CompletableFuture.completedFuture(null);
    }
  }
}
