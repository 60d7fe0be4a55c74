package org.presence.protocol.model;

import java.util.Optional;

/**
 * A device's or user's presence, from most to least available. The wiki names online, offline and
 * unavailable; the seeds add away ("A" in a SimplePush ping).
 *
 * <p>A user's presence is the most available status among their devices, so the order of the
 * constants matters: {@link #moreAvailableThan} compares by it.
 */
public enum PresenceStatus {
  ONLINE("online", 'O'),
  AWAY("away", 'A'),
  UNAVAILABLE("unavailable", 'U'),
  OFFLINE("offline", 'F');

  private static final PresenceStatus[] VALUES = values();

  private final String wireName;
  private final char pushLetter;

  PresenceStatus(String wireName, char pushLetter) {
    this.wireName = wireName;
    this.pushLetter = pushLetter;
  }

  /** The JSON value, for example {@code "online"}. */
  public String wireName() {
    return wireName;
  }

  /** The one-letter form a push server reports ({@code O}, {@code A}, {@code U}). */
  public char pushLetter() {
    return pushLetter;
  }

  /** Whether this status ranks above {@code other} (online > away > unavailable > offline). */
  public boolean moreAvailableThan(PresenceStatus other) {
    return ordinal() < other.ordinal();
  }

  /** The status for a JSON value; case-sensitive, as on the wire. */
  public static Optional<PresenceStatus> fromWire(String value) {
    if (value != null) {
      for (PresenceStatus s : VALUES) {
        if (s.wireName.equals(value)) {
          return Optional.of(s);
        }
      }
    }
    return Optional.empty();
  }

  /**
   * The status for a push-server letter: {@code O}, {@code A} or {@code U} (offline is not pushed).
   */
  public static Optional<PresenceStatus> fromPushLetter(String value) {
    if (value != null && value.length() == 1) {
      char c = value.charAt(0);
      for (PresenceStatus s : VALUES) {
        if (s != OFFLINE && s.pushLetter == c) {
          return Optional.of(s);
        }
      }
    }
    return Optional.empty();
  }
}
