package org.presence.gateway.testing;

import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.presence.store.bus.PresenceBus;

/** A bus that forwards every call to another; a test overrides what it changes or watches. */
public class ForwardingBus implements PresenceBus {
  private final PresenceBus to;

  public ForwardingBus(PresenceBus to) {
    this.to = to;
  }

  @Override
  public String kind() {
    return to.kind();
  }

  @Override
  public CompletionStage<Void> publish(String channel, byte[] message) {
    return to.publish(channel, message);
  }

  @Override
  public CompletionStage<Subscription> subscribe(String channel, Listener listener) {
    return to.subscribe(channel, listener);
  }

  @Override
  public boolean mayReach(String channel) {
    return to.mayReach(channel);
  }

  @Override
  public void onResubscribed(Consumer<Set<String>> listener) {
    to.onResubscribed(listener);
  }

  @Override
  public CompletionStage<Void> ping() {
    return to.ping();
  }

  @Override
  public void close() {
    to.close();
  }
}
