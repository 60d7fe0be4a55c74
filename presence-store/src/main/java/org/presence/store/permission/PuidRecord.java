package org.presence.store.permission;

import java.time.Instant;
import java.util.Objects;

/**
 * What a PUID resolves to: the application it belongs to, the user behind it and its state. Live
 * notifications resolve the PUIDs of a batch at once ({@link GrantRepository#lookup}).
 *
 * @param puid the PUID
 * @param appId the application it was given to
 * @param userSub the user ({@code sub}), or {@code null} for a revoked PUID
 * @param state {@link PuidState#ACTIVE}, {@link PuidState#PAUSED} or {@link PuidState#REVOKED}
 * @param changedAt when the grant was made or last paused or resumed ({@link Grant#updatedAt}), or
 *     {@code null} for a revoked PUID
 */
public record PuidRecord(
    String puid, long appId, String userSub, PuidState state, Instant changedAt) {
  public PuidRecord {
    Objects.requireNonNull(puid, "puid");
    Objects.requireNonNull(state, "state");
    if (state == PuidState.UNKNOWN || (userSub == null) != (state == PuidState.REVOKED)) {
      throw new IllegalArgumentException("inconsistent PUID record " + state);
    }
    if ((changedAt == null) != (state == PuidState.REVOKED)) {
      throw new IllegalArgumentException("a live PUID record needs its time, a revoked one none");
    }
  }

  /** What {@code appId} may do with this PUID: {@link PuidState#UNKNOWN} if it is another's. */
  public PuidState stateFor(long appId) {
    return this.appId == appId ? state : PuidState.UNKNOWN;
  }
}
