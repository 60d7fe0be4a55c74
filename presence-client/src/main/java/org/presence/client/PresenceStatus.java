package org.presence.client;

import java.util.Locale;

/** A device's or a user's status, as on the wire ({@code online}, {@code away}, ...). */
public enum PresenceStatus {
  ONLINE,
  AWAY,
  UNAVAILABLE,
  OFFLINE;

  /** The word on the wire. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The status for {@code word}, or {@code null} when it names none. */
  public static PresenceStatus fromWire(String word) {
    if (word == null) {
      return null;
    }
    for (PresenceStatus s : values()) {
      if (s.wire().equals(word)) {
        return s;
      }
    }
    return null;
  }
}
