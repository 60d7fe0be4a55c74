package org.presence.store.bus;

import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * Publish/subscribe between gateway nodes: presence events, notification wake-ups and cache
 * invalidations all cross nodes through it. Two implementations: {@link LocalPresenceBus} (one
 * process, the embedded default) and {@link RedisPresenceBus} (Redis pub/sub, the cluster). One
 * contract test suite runs against both.
 *
 * <p>Delivery is at most once, in publish order per channel and publisher, to every subscription
 * open when the message is published. Listeners run on a bus thread and must not block: they hand
 * work to the thread that owns it (a channel's event loop, say).
 */
public interface PresenceBus extends AutoCloseable {
  /** Receives messages of one subscription. */
  @FunctionalInterface
  interface Listener {
    /** Called once per message, on a bus thread, in publish order for the channel. */
    void onMessage(String channel, byte[] message);
  }

  /** An open subscription. */
  interface Subscription {
    /** The channel subscribed to. */
    String channel();

    /** Stops delivery to this subscription; idempotent. */
    CompletionStage<Void> unsubscribe();
  }

  /** {@code "local"} or {@code "redis"}. */
  String kind();

  /**
   * Publishes {@code message} on {@code channel}. Completes once the bus took it (not when
   * listeners ran); fails with a {@code StoreException} ({@code BACKEND_UNAVAILABLE}) when the bus
   * is down.
   */
  CompletionStage<Void> publish(String channel, byte[] message);

  /**
   * Subscribes {@code listener} to {@code channel}. Completes when the subscription is active:
   * messages published after that are delivered.
   */
  CompletionStage<Subscription> subscribe(String channel, Listener listener);

  /**
   * Whether a message published on {@code channel} now could reach anyone. The in-process bus knows
   * (a publisher may then skip building the message); a bus between nodes cannot, and answers true.
   */
  default boolean mayReach(String channel) {
    return true;
  }

  /**
   * Runs {@code listener} with the channels the bus has subscribed again, each time it did so:
   * after its pub/sub connection came back from a loss (Redis restarted, the network cut, Redis
   * closing a subscriber that fell behind: that connection's channels), and on a Redis Cluster
   * after the topology changed (a replica promoted: the channels of the slots whose primary
   * changed) or Redis ended some subscriptions because their slots moved to another primary (a
   * reshard: those channels). A message published to a channel while it was not subscribed was
   * lost, so a listener re-reads what such a message would have told it, when its channel is among
   * them. Never in one process, where nothing is lost. The listener runs on the bus's I/O thread
   * (on Redis, Lettuce's, which also reads the node's command replies): it must not block, and
   * hands longer work to a pool of its own.
   */
  default void onResubscribed(Consumer<Set<String>> listener) {}

  /** Completes normally while the bus answers. */
  CompletionStage<Void> ping();

  @Override
  void close();
}
