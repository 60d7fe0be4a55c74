package org.presence.store.presence;

import java.util.Map;

/**
 * What every audience last saw of a user.
 *
 * @param allApps the view of applications not named by any device
 * @param byApp the views of applications that devices name, by application id
 */
public record UserPresence(PresenceView allApps, Map<Long, PresenceView> byApp) {
  public UserPresence {
    byApp = Map.copyOf(byApp);
  }

  /** What application {@code appId} sees. */
  public PresenceView seenBy(long appId) {
    return byApp.getOrDefault(appId, allApps);
  }
}
