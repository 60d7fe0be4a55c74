package org.presence.gateway.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.event.PresenceEvent;
import org.presence.store.bus.PresenceBus;
import org.presence.store.updates.AppUpdateBatchCodec;

/**
 * Records the presence events published on a bus for some applications (one batch message per
 * application and log call, {@link AppUpdateBatchCodec}).
 */
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
                    AppUpdateBatchCodec.channel(app), (c, m) -> r.events.addAll(decode(app, m)))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    return r;
  }

  /** The updates of one batch message, as the events an application is sent. */
  public static List<PresenceEvent> decode(long appId, byte[] message) {
    try {
      return AppUpdateBatchCodec.decodeBatch(message).stream()
          .map(
              u ->
                  new PresenceEvent(
                      appId,
                      u.puid(),
                      u.status(),
                      u.message().isEmpty() ? null : u.message(),
                      u.version(),
                      u.at().toEpochMilli(),
                      u.seq()))
          .toList();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
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
