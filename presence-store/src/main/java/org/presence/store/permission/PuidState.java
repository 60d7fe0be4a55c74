package org.presence.store.permission;

/** What a PUID means to one application right now. */
public enum PuidState {
  /** A live grant with presence enabled. */
  ACTIVE,
  /** A live grant the user has paused. */
  PAUSED,
  /** A grant the user revoked; the PUID is dead for good. */
  REVOKED,
  /** No grant of this application ever had this PUID. */
  UNKNOWN
}
