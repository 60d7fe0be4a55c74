package org.presence.store.permission;

import java.time.Instant;
import java.util.Objects;

/**
 * A user's grant of presence to an application: the seeds' Presence-Authentications row.
 *
 * @param puid the pseudonymous id the application knows the user by; random, unlinkable
 * @param userSub the user's identity ({@code sub}); never shown to the application
 * @param appId the application
 * @param userString how the user appears to the application ("Fred"), shown on the settings page
 * @param enabled false while the user has paused presence for this application
 * @param createdAt when the grant was made
 * @param updatedAt when it last changed (paused or resumed)
 */
public record Grant(
    String puid,
    String userSub,
    long appId,
    String userString,
    boolean enabled,
    Instant createdAt,
    Instant updatedAt) {
  public Grant {
    Objects.requireNonNull(puid, "puid");
    Objects.requireNonNull(userSub, "userSub");
    Objects.requireNonNull(userString, "userString");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
  }
}
