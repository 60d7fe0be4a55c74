package org.presence.gateway.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.event.PresenceEvent;
import org.presence.protocol.event.PresenceEventCodec;
import org.presence.store.bus.PresenceBus;
import org.presence.store.updates.AppUpdatePublisher;

/** Records the presence events published on a bus for some applications. */
public final class BusRecorder implements AutoCloseable {
  private final List<PresenceEvent> events = new CopyOnWriteArrayList<>();
  private final List<PresenceBus.Subscription> subscriptions = new CopyOnWriteArrayList<>();

  /** Subscribes to the presence channels of {@code appIds} on {@code bus}. */
  public static BusRecorder listen(PresenceBus bus, long... appIds) {
    BusRecorder r = new BusRecorder();
    for (long app : appIds) {
      try {
        r.subscriptions.add(
            bus.subscribe(
                    AppUpdatePublisher.channel(app),
                    (c, m) -> r.events.add(PresenceEventCodec.decode(m)))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    return r;
  }

  /** Events so far, in arrival order. */
  public List<PresenceEvent> events() {
    return List.copyOf(events);
  }

  /** Events of {@code appId} so far, as {@code status:message}. */
  public List<String> seen(long appId) {
    return events.stream()
        .filter(e -> e.appId() == appId)
        .map(e -> e.status().wireName() + ":" + e.message())
        .toList();
  }

  public int size() {
    return events.size();
  }

  @Override
  public void close() {
    subscriptions.forEach(PresenceBus.Subscription::unsubscribe);
  }
}
