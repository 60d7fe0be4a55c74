package org.presence.gateway.app;

import com.github.benmanes.caffeine.cache.AsyncCacheLoader;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
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
 * Loads run on the database pool, never on the caller's thread. {@link #findAll} loads the ids it
 * does not hold in one database call ({@link AppRepository#findAll}), so a list of many grants, or
 * an update reaching many applications, costs one call on a cold cache, not one per application;
 * the ids it holds are answered from memory. Entries loaded together expire together, like any
 * others, {@code ttl} after their load.
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
                new AsyncCacheLoader<Long, Optional<Application>>() {
                  @Override
                  public CompletableFuture<Optional<Application>> asyncLoad(Long id, Executor ex) {
                    return apps.find(id).toCompletableFuture();
                  }

                  @Override
                  public CompletableFuture<Map<Long, Optional<Application>>> asyncLoadAll(
                      Set<? extends Long> ids, Executor ex) {
                    return apps.findAll(Set.copyOf(ids))
                        .thenApply(
                            found -> {
                              // Every id asked gets an entry: "none" is cached as well.
                              Map<Long, Optional<Application>> all = new HashMap<>();
                              for (Long id : ids) {
                                all.put(id, Optional.ofNullable(found.get(id)));
                              }
                              return all;
                            })
                        .toCompletableFuture();
                  }
                });
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

  /**
   * The applications with these ids, each id asked mapped to its application or empty (none): those
   * not cached are loaded together in one database call. Callers that need many applications (a
   * user's grants, an update's applications) use this rather than {@link #find} in a loop.
   */
  public CompletionStage<Map<Long, Optional<Application>>> findAll(Collection<Long> ids) {
    if (ids.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    return cache.getAll(ids);
  }
}
