package org.presence.store.presence;

import java.util.Objects;
import org.presence.protocol.model.PresenceStatus;

/**
 * A real change of what an audience sees of a user's presence, to be published.
 *
 * @param appId the application that sees the change, or {@link #ALL_APPS}: every application the
 *     user granted except those of {@link PresenceUpdate#ownScopes()}, which get their own change
 * @param status the new status
 * @param message the new message, or {@code null}
 * @param version the user's presence version, increasing with every change of the user; for
 *     ordering changes that reach a consumer out of order
 */
public record PresenceChange(long appId, PresenceStatus status, String message, long version) {
  /** The audience of every granted application not named by a device. */
  public static final long ALL_APPS = 0;

  public PresenceChange {
    Objects.requireNonNull(status, "status");
  }

  /** Whether this change is for every granted application rather than one. */
  public boolean forAllApps() {
    return appId == ALL_APPS;
  }
}
