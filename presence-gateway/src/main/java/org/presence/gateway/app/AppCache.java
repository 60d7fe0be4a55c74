package org.presence.gateway.app;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.CachesConfig;
import org.presence.store.app.AppRepository;
import org.presence.store.app.Application;

/**
 * The applications the hot paths read (API key checks, consent pages), cached.
 *
 * <ul>
 *   <li>key: application id; value: the stored application (state, key hash, domain, webhook), or
 *       empty when there is none (so probing unknown ids costs one lookup per id and ttl);
 *   <li>bound: {@code caches.api-keys.max-size} entries; ttl: {@code caches.api-keys.ttl} after the
 *       load;
 *   <li>invalidated ({@code app:<id>}) by {@link AppService} after every change of the application
 *       (verify, activate, regenerate, deactivate, webhook) on every node.
 * </ul>
 *
 * Loads run on the database pool, never on the caller's thread.
 */
public final class AppCache {
  /** Invalidation kind. */
  public static final String KIND = "app";

  private final AsyncLoadingCache<Long, Optional<Application>> cache;
  private final Invalidations invalidations;

  public AppCache(AppRepository apps, CachesConfig.Spec spec, Invalidations invalidations) {
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(spec.maxSize())
            .expireAfterWrite(spec.ttl())
            .buildAsync(
                (Long id, java.util.concurrent.Executor ex) -> apps.find(id).toCompletableFuture());
    this.invalidations = invalidations;
    invalidations.register(
        KIND,
        key -> {
          try {
            cache.synchronous().invalidate(Long.parseLong(key));
          } catch (NumberFormatException e) {
            // Not one of ours; ignore.
          }
        });
  }

  /**
   * Calls {@code listener} with the id of every application that changed (on this node or another),
   * after this cache dropped its entry, so that {@link #find} reads the change. It must not block.
   */
  public void onChange(java.util.function.LongConsumer listener) {
    invalidations.register(
        KIND,
        key -> {
          long id;
          try {
            id = Long.parseLong(key);
          } catch (NumberFormatException e) {
            return; // not one of ours
          }
          listener.accept(id);
        });
  }

  /** The application with this id, if any. */
  public CompletionStage<Optional<Application>> find(long id) {
    return cache.get(id);
  }
}
