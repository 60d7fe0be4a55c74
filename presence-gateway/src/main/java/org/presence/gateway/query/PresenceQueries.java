package org.presence.gateway.query;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.cluster.SharedValues;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.permission.PuidRecord;
import org.presence.store.permission.PuidState;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceView;
import org.presence.store.presence.UserPresence;

/**
 * Answers presence queries of applications from the state the update channel's snapshot reads: an
 * application sees a user only through an enabled grant of its own, and then what the {@link
 * PresenceStateStore} says that application was last shown ({@code seenBy}). A paused, revoked,
 * unknown PUID, or one of another application, reads as {@code offline}, like a user who is
 * offline: the snapshot sends none of them either, and the answer tells nothing about why.
 */
final class PresenceQueries {
  /** Enabled grants read per database query while counting the stats. */
  static final int STATS_PAGE = 500;

  /**
   * One user as the application sees them.
   *
   * @param puid the PUID asked for
   * @param view the presence ({@link PresenceView#OFFLINE} for a user the application cannot see)
   */
  record Seen(String puid, PresenceView view) {}

  /**
   * An application's users by status, counted at {@code countedAt}.
   *
   * @param online PUIDs online
   * @param away PUIDs away
   * @param unavailable PUIDs unavailable
   * @param offline enabled PUIDs offline
   * @param countedAt when the count was made
   */
  record Stats(long online, long away, long unavailable, long offline, Instant countedAt) {
    long total() {
      return online + away + unavailable + offline;
    }
  }

  /**
   * How many times {@code queries.stats-ttl} a count is still answered while a newer one is made;
   * an older one is not (the request waits for the new count).
   */
  static final int STATS_KEPT_TTLS = 6;

  /**
   * How many times {@code queries.stats-ttl} a node's claim on making an application's next shared
   * count lasts, unless the node shares the count or gives the claim up sooner (a failed count):
   * long enough for a count, short enough that a node that died counting holds up the others
   * little.
   */
  static final int STATS_CLAIM_TTLS = 2;

  private final GrantRepository grants;
  private final PresenceStateStore state;
  private final SharedValues shared;
  private final String nodeId;
  private final Duration statsTtl;
  private final AsyncLoadingCache<Long, Stats> stats;

  /** One node's queries, counting on its own (nothing shared: the embedded default, tests). */
  PresenceQueries(GrantRepository grants, PresenceStateStore state, Duration statsTtl) {
    this(grants, state, statsTtl, Ticker.systemTicker());
  }

  /** {@link #PresenceQueries(GrantRepository, PresenceStateStore, Duration)} on {@code ticker}. */
  PresenceQueries(
      GrantRepository grants, PresenceStateStore state, Duration statsTtl, Ticker ticker) {
    this(grants, state, SharedValues.none(), "", statsTtl, ticker);
  }

  /**
   * Queries of node {@code nodeId}, whose counts are shared with the other nodes through {@code
   * shared} ({@link #stats}).
   */
  PresenceQueries(
      GrantRepository grants,
      PresenceStateStore state,
      SharedValues shared,
      String nodeId,
      Duration statsTtl,
      Ticker ticker) {
    this.grants = grants;
    this.state = state;
    this.shared = shared;
    this.nodeId = nodeId;
    this.statsTtl = statsTtl;
    this.stats =
        Caffeine.newBuilder()
            .maximumSize(10_000)
            .ticker(ticker)
            .refreshAfterWrite(statsTtl)
            .expireAfterWrite(statsTtl.multipliedBy(STATS_KEPT_TTLS))
            .buildAsync((appId, executor) -> load(appId));
  }

  /**
   * A count of application {@code appId} for this node's cache: one another node made less than a
   * ttl ago ({@link SharedValues}: one read), or else a new one, made here if this node claims the
   * count (no other node is making one; the claim lasts {@link #STATS_CLAIM_TTLS} ttls, and is
   * given up if the count fails) and shared for {@link #STATS_KEPT_TTLS} ttls; while another node
   * makes it, the last shared count, however old. When the shared values cannot be read or claimed
   * (Redis failing), the node counts on its own.
   */
  private CompletableFuture<Stats> load(long appId) {
    String name = "stats:" + appId;
    return shared
        .get(name)
        .handle((v, e) -> e == null ? v.flatMap(PresenceQueries::decode) : Optional.<Stats>empty())
        .thenCompose(
            found -> {
              if (found.isPresent()
                  && found.get().countedAt().plus(statsTtl).isAfter(Instant.now())) {
                return CompletableFuture.completedFuture(found.get());
              }
              return shared
                  .claim(name, nodeId, statsTtl.multipliedBy(STATS_CLAIM_TTLS))
                  .handle((won, e) -> e != null || won)
                  .thenCompose(
                      won -> {
                        if (!won && found.isPresent()) {
                          return CompletableFuture.completedFuture(found.get());
                        }
                        return countAndShare(appId, name);
                      });
            })
        .toCompletableFuture();
  }

  /**
   * Counts application {@code appId} and shares the count under {@code name} (ending this node's
   * claim), or, when the count fails, gives the claim up so that another node may count at once.
   */
  private CompletionStage<Stats> countAndShare(long appId, String name) {
    CompletableFuture<Stats> out = new CompletableFuture<>();
    count(appId, grants.listEnabledByApp(appId, "", STATS_PAGE), new long[4])
        .whenComplete(
            (s, e) -> {
              if (e == null) {
                shared
                    .put(name, encode(s), statsTtl.multipliedBy(STATS_KEPT_TTLS), nodeId)
                    .whenComplete((v, x) -> out.complete(s));
              } else {
                shared.release(name, nodeId).whenComplete((v, x) -> out.completeExceptionally(e));
              }
            });
    return out;
  }

  /** A count as shared: its four figures and the milliseconds it was made at, comma-separated. */
  static String encode(Stats s) {
    return s.online()
        + ","
        + s.away()
        + ","
        + s.unavailable()
        + ","
        + s.offline()
        + ","
        + s.countedAt().toEpochMilli();
  }

  /** {@link #encode}'s reverse; empty for anything else (a value of another build, say). */
  static Optional<Stats> decode(String v) {
    String[] f = v.split(",", -1);
    if (f.length != 5) {
      return Optional.empty();
    }
    try {
      long[] n = new long[5];
      for (int i = 0; i < 5; i++) {
        n[i] = Long.parseLong(f[i]);
        if (n[i] < 0) {
          return Optional.empty();
        }
      }
      return Optional.of(new Stats(n[0], n[1], n[2], n[3], Instant.ofEpochMilli(n[4])));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** What application {@code appId} sees of {@code puid} (well-formed) now. */
  CompletionStage<Seen> one(long appId, String puid) {
    return grants
        .findByPuid(puid)
        .thenCompose(
            g -> {
              if (g.isEmpty() || g.get().appId() != appId || !g.get().enabled()) {
                return CompletableFuture.completedFuture(new Seen(puid, PresenceView.OFFLINE));
              }
              return state
                  .presence(g.get().userSub())
                  .thenApply(p -> new Seen(puid, since(p.seenBy(appId), g.get().updatedAt())));
            });
  }

  /**
   * What application {@code appId} sees of each of {@code puids} (well-formed), in their order: one
   * database round trip for the PUIDs and one state read per distinct enabled user.
   */
  CompletionStage<List<Seen>> many(long appId, List<String> puids) {
    return grants
        .lookup(new LinkedHashSet<>(puids))
        .thenCompose(
            records -> {
              Map<String, CompletableFuture<PresenceView>> byUser = new HashMap<>();
              Map<String, CompletableFuture<PresenceView>> byPuid = new HashMap<>();
              for (String puid : puids) {
                PuidRecord r = records.get(puid);
                if (r == null || r.stateFor(appId) != PuidState.ACTIVE) {
                  continue;
                }
                byPuid.put(
                    puid,
                    byUser
                        .computeIfAbsent(
                            r.userSub(),
                            u ->
                                state
                                    .presence(u)
                                    .thenApply(p -> p.seenBy(appId))
                                    .toCompletableFuture())
                        .thenApply(v -> since(v, r.changedAt())));
              }
              // The PUIDs' own futures (each raised to its grant's time): their completion is what
              // the answer joins.
              return CompletableFuture.allOf(byPuid.values().toArray(new CompletableFuture[0]))
                  .thenApply(
                      v -> {
                        List<Seen> out = new ArrayList<>(puids.size());
                        for (String puid : puids) {
                          CompletableFuture<PresenceView> f = byPuid.get(puid);
                          out.add(new Seen(puid, f == null ? PresenceView.OFFLINE : f.join()));
                        }
                        return out;
                      });
            });
  }

  /**
   * {@code view} with its version raised to {@code enabledAt} (in the versions' unit, microseconds
   * since the epoch): the moment the grant was made or last resumed. The user's presence version is
   * the wall-clock time of their last change, shared by all of their applications; left as it is,
   * it would tell an application that was paused when the user changed status during the pause (or
   * before the grant). Raised, a change made while the application could not see the user reads as
   * made at the resume; a change made since shows its own version, which is later. So the version
   * an application reads only grows, tells nothing of the time it could not see the user, and stays
   * apart from the update log's versions, which order changes across nodes and are never shown.
   */
  static PresenceView since(PresenceView view, Instant enabledAt) {
    if (view.status() == PresenceStatus.OFFLINE) {
      return view;
    }
    long floor =
        Math.addExact(
            Math.multiplyExact(enabledAt.getEpochSecond(), 1_000_000L), enabledAt.getNano() / 1000);
    return view.version() >= floor ? view : new PresenceView(view.status(), view.message(), floor);
  }

  /**
   * Application {@code appId}'s enabled PUIDs by status: counted page by page over its enabled
   * grants ({@link #STATS_PAGE} a page, one state read of the page's users each, the next page read
   * from the database meanwhile). A count is answered as it is for {@code queries.stats-ttl}; after
   * that, the first request starts a new count in the background and it and those that come while
   * it runs get the last count (its {@code countedAt} says how old), up to {@link #STATS_KEPT_TTLS}
   * times the ttl, after which a request waits for the new count. Concurrent requests for one
   * application share one count; so do the nodes of a cluster ({@link #load}).
   */
  CompletionStage<Stats> stats(long appId) {
    return stats.get(appId);
  }

  /**
   * Counts {@code page} (a page of enabled grants being read) and the pages after it into {@code
   * counts}; the next page's database read runs while this page's states are read.
   */
  private CompletableFuture<Stats> count(
      long appId, CompletionStage<List<Grant>> page, long[] counts) {
    return page.thenCompose(
            list -> {
              CompletionStage<List<Grant>> next =
                  list.size() < STATS_PAGE
                      ? null
                      : grants.listEnabledByApp(
                          appId, list.get(list.size() - 1).puid(), STATS_PAGE);
              List<String> users = new ArrayList<>(list.size());
              for (Grant g : list) {
                users.add(g.userSub());
              }
              return state
                  .presence(users)
                  .thenCompose(
                      seen -> {
                        for (UserPresence p : seen) {
                          counts[index(p.seenBy(appId).status())]++;
                        }
                        if (next == null) {
                          return CompletableFuture.completedFuture(
                              new Stats(
                                  counts[0],
                                  counts[1],
                                  counts[2],
                                  counts[3],
                                  Instant.now().truncatedTo(ChronoUnit.MILLIS)));
                        }
                        return count(appId, next, counts);
                      });
            })
        .toCompletableFuture();
  }

  private static int index(PresenceStatus s) {
    return switch (s) {
      case ONLINE -> 0;
      case AWAY -> 1;
      case UNAVAILABLE -> 2;
      default -> 3;
    };
  }
}
