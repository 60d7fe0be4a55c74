package org.presence.store.user;

import java.util.Objects;

/**
 * A user's presence policy and custom messages (seed 000, "For Device Users"). The device daemon
 * reads the policy at connect to know which status to send.
 *
 * @param userSub the user's identity
 * @param onlineWithinMinutes online when the device was used within this many minutes (5/10/15/20)
 * @param awayAfterMinutes away when unused for at least this many minutes (5/10/15/20)
 * @param offlineAfterMinutes offline when unused for at least this many minutes (10/25/35)
 * @param customStatus custom status message, or empty
 * @param awayMessage message that accompanies "away", or empty
 */
public record UserSettings(
    String userSub,
    int onlineWithinMinutes,
    int awayAfterMinutes,
    int offlineAfterMinutes,
    String customStatus,
    String awayMessage) {

  /** Choices the settings page offers for "online when used within". */
  public static final int[] ONLINE_CHOICES = {5, 10, 15, 20};

  /** Choices for "away when unused for at least". */
  public static final int[] AWAY_CHOICES = {5, 10, 15, 20};

  /** Choices for "offline when unused for at least". */
  public static final int[] OFFLINE_CHOICES = {10, 25, 35};

  /** Longest custom status or away message, in characters. */
  public static final int MAX_MESSAGE_LENGTH = 140;

  public UserSettings {
    Objects.requireNonNull(userSub, "userSub");
    Objects.requireNonNull(customStatus, "customStatus");
    Objects.requireNonNull(awayMessage, "awayMessage");
  }

  /** The settings of a user who never changed them. */
  public static UserSettings defaults(String userSub) {
    return new UserSettings(userSub, 5, 10, 25, "", "");
  }

  /** Whether every value is one of the offered choices and the messages fit. */
  public boolean valid() {
    return contains(ONLINE_CHOICES, onlineWithinMinutes)
        && contains(AWAY_CHOICES, awayAfterMinutes)
        && contains(OFFLINE_CHOICES, offlineAfterMinutes)
        && awayAfterMinutes < offlineAfterMinutes
        && customStatus.length() <= MAX_MESSAGE_LENGTH
        && awayMessage.length() <= MAX_MESSAGE_LENGTH;
  }

  private static boolean contains(int[] choices, int value) {
    for (int c : choices) {
      if (c == value) {
        return true;
      }
    }
    return false;
  }
}
