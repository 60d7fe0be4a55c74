package org.presence.gateway.cache;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.presence.store.bus.PresenceBus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cache invalidation across nodes. A service that changed something calls {@link #publish} after
 * the change is committed: the local cache drops its entry at once (so this node answers from the
 * database on the next read), and the other nodes drop theirs when the bus message arrives.
 *
 * <p>Messages on bus channel {@value #CHANNEL} are UTF-8 {@code kind:key}, for example {@code
 * app:104} or {@code grants:dev:alice@example.com}. A lost message (the bus down) leaves a stale
 * entry on other nodes for at most the cache's ttl; that is logged.
 */
public final class Invalidations {
  /** The bus channel. */
  public static final String CHANNEL = "cache-invalidate";

  private static final Logger LOG = LoggerFactory.getLogger(Invalidations.class);

  private final PresenceBus bus;
  private final Map<String, List<Consumer<String>>> handlers = new ConcurrentHashMap<>();

  public Invalidations(PresenceBus bus) {
    this.bus = bus;
  }

  /**
   * Routes invalidations of {@code kind} to {@code handler}, after those registered before it; it
   * must not block.
   */
  public void register(String kind, Consumer<String> handler) {
    handlers.computeIfAbsent(kind, k -> new CopyOnWriteArrayList<>()).add(handler);
  }

  /** Subscribes to the bus; completes when invalidations from other nodes arrive. */
  public CompletionStage<Void> start() {
    return bus.subscribe(CHANNEL, (channel, message) -> apply(message)).thenApply(s -> null);
  }

  /** Drops {@code kind}'s entry {@code key} here and on every other node. */
  public CompletionStage<Void> publish(String kind, String key) {
    String message = kind + ":" + key;
    applyLocal(kind, key);
    CompletableFuture<Void> done = new CompletableFuture<>();
    bus.publish(CHANNEL, message.getBytes(StandardCharsets.UTF_8))
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                LOG.warn(
                    "cache invalidation {} not sent to other nodes: {}", message, e.toString());
              }
              done.complete(null);
            });
    return done;
  }

  private void apply(byte[] message) {
    String s = new String(message, StandardCharsets.UTF_8);
    int colon = s.indexOf(':');
    if (colon <= 0) {
      return;
    }
    applyLocal(s.substring(0, colon), s.substring(colon + 1));
  }

  private void applyLocal(String kind, String key) {
    List<Consumer<String>> hs = handlers.get(kind);
    if (hs != null) {
      for (Consumer<String> h : hs) {
        h.accept(key);
      }
    }
  }
}
