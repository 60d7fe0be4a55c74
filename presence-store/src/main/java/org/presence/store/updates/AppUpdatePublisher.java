package org.presence.store.updates;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.presence.protocol.event.PresenceEvent;
import org.presence.protocol.event.PresenceEventCodec;
import org.presence.store.bus.PresenceBus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way presence updates for an application leave the node where they happen: numbered by the
 * application's {@link AppUpdateLog} (once, here), handed as they are to this node's own listeners
 * of the application ({@link #listen}: its update connections), and published on the bus channel
 * {@link #channel} as {@link PresenceEvent}s carrying their {@code seq}, for the other nodes. On
 * the in-process bus nobody else listens, so the bus message is only built when someone subscribed
 * to the channel. Listeners of every batch ({@link #addListener}: the webhook sender) hear of all
 * applications.
 *
 * <p>The log is the truth: a consumer that misses a bus message (the bus is at most once, and
 * messages of two nodes may cross) finds it in the log by its number.
 */
public final class AppUpdatePublisher {
  /** The bus channel of application {@code appId}'s numbered presence updates. */
  public static String channel(long appId) {
    return "presence.app." + appId;
  }

  private static final Logger LOG = LoggerFactory.getLogger(AppUpdatePublisher.class);

  /** Hears of updates once the log numbered them. */
  @FunctionalInterface
  public interface Listener {
    /** {@code updates} of {@code appId}, numbered, in order; must not block. */
    void appended(long appId, List<AppUpdate> updates);
  }

  /** Hears, on this node, the updates of one application appended on this node. */
  @FunctionalInterface
  public interface AppListener {
    /** {@code updates}, numbered, in order; called on the appending thread, must not block. */
    void updates(List<AppUpdate> updates);
  }

  /** A registration of an {@link AppListener}; {@link #close} ends it. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private final AppUpdateLog log;
  private final PresenceBus bus;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ConcurrentHashMap<Long, List<AppListener>> appListeners = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Long, String> channels = new ConcurrentHashMap<>();

  public AppUpdatePublisher(AppUpdateLog log, PresenceBus bus) {
    this.log = log;
    this.bus = bus;
  }

  /** The log behind this publisher. */
  public AppUpdateLog log() {
    return log;
  }

  /** Whether the bus reaches other nodes (then their updates come only through it). */
  public boolean busBetweenNodes() {
    return !"local".equals(bus.kind());
  }

  /**
   * Hands this node's updates of {@code appId} to {@code listener} until the registration closes.
   */
  public Registration listen(long appId, AppListener listener) {
    appListeners.computeIfAbsent(appId, k -> new CopyOnWriteArrayList<>()).add(listener);
    return () ->
        appListeners.computeIfPresent(
            appId,
            (k, list) -> {
              list.remove(listener);
              return list.isEmpty() ? null : list;
            });
  }

  /** Adds a listener of every numbered batch. */
  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  /**
   * Appends {@code updates} to {@code appId}'s log and publishes the ones it kept. Completes with
   * them once handed to the bus; fails when the log could not take them. A failed bus publication
   * is only logged: consumers find the updates in the log.
   */
  public CompletionStage<List<AppUpdate>> publish(long appId, List<AppUpdate.New> updates) {
    if (updates.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    return log.append(appId, updates)
        .thenCompose(
            numbered -> {
              if (numbered.isEmpty()) {
                return CompletableFuture.completedFuture(numbered);
              }
              List<AppListener> here = appListeners.get(appId);
              if (here != null) {
                for (AppListener l : here) {
                  try {
                    l.updates(numbered);
                  } catch (RuntimeException ex) {
                    LOG.error("update listener of app {} failed", appId, ex);
                  }
                }
              }
              String channel = channels.computeIfAbsent(appId, AppUpdatePublisher::channel);
              List<CompletableFuture<Void>> sent = new ArrayList<>(numbered.size());
              boolean onBus = bus.mayReach(channel);
              for (AppUpdate u : onBus ? numbered : List.<AppUpdate>of()) {
                PresenceEvent e =
                    new PresenceEvent(
                        appId,
                        u.puid(),
                        u.status(),
                        u.message().isEmpty() ? null : u.message(),
                        u.version(),
                        u.at().toEpochMilli(),
                        u.seq());
                sent.add(bus.publish(channel, PresenceEventCodec.encode(e)).toCompletableFuture());
              }
              for (Listener l : listeners) {
                try {
                  l.appended(appId, numbered);
                } catch (RuntimeException ex) {
                  LOG.error("update listener failed", ex);
                }
              }
              if (sent.isEmpty()) {
                return CompletableFuture.completedFuture(numbered);
              }
              return CompletableFuture.allOf(sent.toArray(new CompletableFuture[0]))
                  .handle(
                      (v, e) -> {
                        if (e != null) {
                          LOG.warn(
                              "updates {}..{} of app {} not published on the bus (they stay in the"
                                  + " log): {}",
                              numbered.get(0).seq(),
                              numbered.get(numbered.size() - 1).seq(),
                              appId,
                              e.toString());
                        }
                        return numbered;
                      });
            });
  }
}
