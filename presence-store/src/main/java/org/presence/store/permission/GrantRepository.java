package org.presence.store.permission;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** Users' grants of presence to applications, keyed by PUID. */
public interface GrantRepository {
  /**
   * How many live grants (enabled or paused) one user may hold.
   *
   * @param perApp for one application (distinct user strings)
   * @param perUser in all
   */
  record Limits(int perApp, int perUser) {
    /** No caps (tests and tools). */
    public static final Limits NONE = new Limits(Integer.MAX_VALUE, Integer.MAX_VALUE);
  }

  /**
   * Grants {@code appId} presence of {@code userSub} as {@code userString}, without caps.
   *
   * @see #grant(String, long, String, Limits)
   */
  default CompletionStage<Grant> grant(String userSub, long appId, String userString) {
    return grant(userSub, appId, userString, Limits.NONE);
  }

  /**
   * Grants {@code appId} presence of {@code userSub} as {@code userString}. For the same user,
   * application and user string it returns the existing grant (and its PUID) unchanged; otherwise
   * it creates one, enabled, with a fresh PUID, unless the user already holds {@code
   * limits.perApp()} grants for the application or {@code limits.perUser()} in all: then it fails
   * with {@code TOO_MANY_GRANTS} and changes nothing. The caps hold across nodes: the grants of one
   * user are made one at a time.
   */
  CompletionStage<Grant> grant(String userSub, long appId, String userString, Limits limits);

  /** The live grant with this PUID. */
  CompletionStage<Optional<Grant>> findByPuid(String puid);

  /** Whether {@code puid} is active, paused, revoked or unknown for {@code appId}. */
  CompletionStage<PuidState> puidState(long appId, String puid);

  /**
   * Resolves many PUIDs at once (one round trip): live grants and revoked PUIDs, by PUID. PUIDs
   * that never existed are absent from the map.
   */
  CompletionStage<Map<String, PuidRecord>> lookup(Collection<String> puids);

  /** All live grants of a user, by application then user string. */
  CompletionStage<List<Grant>> listByUser(String userSub);

  /**
   * A page of an application's enabled grants, by PUID: at most {@code limit} whose PUID sorts
   * after {@code afterPuid} ({@code ""} for the first page). Snapshots read an application's users
   * page by page, so that a large application costs one page of memory at a time; there is no read
   * of every grant of an application at once (one of 500,000 users would be one list of them all).
   */
  CompletionStage<List<Grant>> listEnabledByApp(long appId, String afterPuid, int limit);

  /**
   * Pauses ({@code false}) or resumes ({@code true}) the user's grant with this PUID. Empty when
   * the user has no such grant.
   */
  CompletionStage<Optional<Grant>> setEnabled(String userSub, String puid, boolean enabled);

  /**
   * Revokes the user's grant with this PUID: the PUID dies (it answers {@link PuidState#REVOKED}
   * from then on) and a later grant to the same application makes a new one. Returns the revoked
   * grant, or empty when the user has no such grant.
   */
  CompletionStage<Optional<Grant>> revoke(String userSub, String puid);

  /**
   * Forgets at most {@code limit} tombstones of PUIDs revoked before {@code before}, oldest first:
   * from then on such a PUID answers {@link PuidState#UNKNOWN} instead of {@link
   * PuidState#REVOKED}. Live grants are never touched, and a forgotten PUID never comes back (PUIDs
   * are random and never made twice). Completes with how many it forgot; several callers at once
   * are harmless (each row goes once).
   */
  CompletionStage<Integer> purgeRevoked(Instant before, int limit);
}
