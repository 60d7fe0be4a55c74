package org.presence.gateway.notify;

import com.github.benmanes.caffeine.cache.AsyncCacheLoader;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.permission.GrantService;
import org.presence.store.permission.GrantRepository;
import org.presence.store.permission.PuidRecord;
import org.presence.store.permission.Puids;

/**
 * Resolves the PUIDs of a notification batch to users, cached: a batch costs at most one database
 * round trip (for the PUIDs not cached), however many items it has.
 *
 * <ul>
 *   <li>key: the PUID; value: its {@link PuidRecord} (application, user, active, paused or
 *       revoked), or empty for a PUID that never existed;
 *   <li>bound: {@code notifications.puid-cache.max-size}; ttl: {@code
 *       notifications.puid-cache.ttl};
 *   <li>invalidated with the user's grants ({@code grants:<sub>}, published by {@link GrantService}
 *       on every grant, pause, resume and revoke): every entry of that user goes, found through a
 *       second cache of user to PUIDs (same bound and ttl), so an invalidation costs the user's
 *       entries, not a walk of the cache. Should that index lose a user first, their entries live
 *       at most the ttl, as after a lost invalidation.
 * </ul>
 *
 * Strings that cannot be PUIDs (not 43 characters of base64url) are unknown without a lookup, so
 * junk costs nothing.
 */
final class PuidDirectory {
  private final AsyncLoadingCache<String, Optional<PuidRecord>> cache;
  private final Cache<String, Set<String>> byUser;

  PuidDirectory(GrantRepository grants, CachesConfig.Spec spec, Invalidations invalidations) {
    this.byUser =
        Caffeine.newBuilder().maximumSize(spec.maxSize()).expireAfterWrite(spec.ttl()).build();
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(spec.maxSize())
            .expireAfterWrite(spec.ttl())
            .buildAsync(
                new AsyncCacheLoader<String, Optional<PuidRecord>>() {
                  @Override
                  public CompletableFuture<? extends Optional<PuidRecord>> asyncLoad(
                      String key, Executor executor) {
                    return grants
                        .lookup(List.of(key))
                        .thenApply(m -> Optional.ofNullable(indexed(m.get(key))))
                        .toCompletableFuture();
                  }

                  @Override
                  public CompletableFuture<
                          ? extends Map<? extends String, ? extends Optional<PuidRecord>>>
                      asyncLoadAll(Set<? extends String> keys, Executor executor) {
                    return grants
                        .lookup(new ArrayList<>(keys))
                        .thenApply(
                            found -> {
                              Map<String, Optional<PuidRecord>> out = new HashMap<>();
                              for (String k : keys) {
                                out.put(k, Optional.ofNullable(indexed(found.get(k))));
                              }
                              return out;
                            })
                        .toCompletableFuture();
                  }
                });
    invalidations.register(GrantService.KIND, this::invalidateUser);
  }

  /** Notes which user {@code r} belongs to, for invalidation; returns it. */
  private PuidRecord indexed(PuidRecord r) {
    if (r != null && r.userSub() != null) {
      byUser.get(r.userSub(), u -> ConcurrentHashMap.newKeySet()).add(r.puid());
    }
    return r;
  }

  /** Whether {@code uid} has the form of a PUID ({@link Puids#wellFormed}). */
  static boolean wellFormed(String uid) {
    return Puids.wellFormed(uid);
  }

  /** The records of {@code puids} that exist (well-formed ones only are looked up). */
  CompletionStage<Map<String, PuidRecord>> resolve(Collection<String> puids) {
    List<String> keys = new ArrayList<>();
    for (String p : puids) {
      if (wellFormed(p)) {
        keys.add(p);
      }
    }
    if (keys.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    return cache
        .getAll(keys)
        .thenApply(
            all -> {
              Map<String, PuidRecord> out = new HashMap<>();
              all.forEach((k, v) -> v.ifPresent(r -> out.put(k, r)));
              return out;
            });
  }

  /** Drops the entries of {@code user}'s PUIDs: their grants changed. */
  void invalidateUser(String user) {
    Set<String> puids = byUser.getIfPresent(user);
    if (puids != null) {
      byUser.invalidate(user);
      cache.synchronous().invalidateAll(puids);
    }
  }
}
