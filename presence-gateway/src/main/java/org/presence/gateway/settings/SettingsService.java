package org.presence.gateway.settings;

import java.util.Arrays;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.app.AppFields;
import org.presence.gateway.cache.Invalidations;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.user.UserSettings;
import org.presence.store.user.UserSettingsRepository;

/**
 * The user's presence policy and messages (seed 000, "For Device Users"): read and change them,
 * for the settings page and the device daemon's JSON API. A change is announced on the bus as
 * invalidation {@code settings:<sub>}, so that a node holding the user's devices can tell them.
 */
public final class SettingsService {
  /** Invalidation kind announcing a change of a user's settings. */
  public static final String KIND = "settings";

  /**
   * A change: {@code null} fields keep their current value.
   *
   * @param onlineWithinMinutes 5, 10, 15 or 20
   * @param awayAfterMinutes 5, 10, 15 or 20
   * @param offlineAfterMinutes 10, 25 or 35, and more than {@code awayAfterMinutes}
   * @param customStatus at most 140 characters
   * @param awayMessage at most 140 characters
   */
  public record Change(
      Integer onlineWithinMinutes,
      Integer awayAfterMinutes,
      Integer offlineAfterMinutes,
      String customStatus,
      String awayMessage) {}

  private final UserSettingsRepository settings;
  private final Invalidations invalidations;

  public SettingsService(UserSettingsRepository settings, Invalidations invalidations) {
    this.settings = settings;
    this.invalidations = invalidations;
  }

  /** The user's settings (the defaults until they change them). */
  public CompletionStage<UserSettings> get(String user) {
    return settings.get(user);
  }

  /** Applies {@code change}; fails with {@code INVALID_SETTING} (154) and changes nothing. */
  public CompletionStage<UserSettings> update(String user, Change change) {
    return settings
        .get(user)
        .thenCompose(
            current -> {
              UserSettings next =
                  new UserSettings(
                      user,
                      or(change.onlineWithinMinutes(), current.onlineWithinMinutes()),
                      or(change.awayAfterMinutes(), current.awayAfterMinutes()),
                      or(change.offlineAfterMinutes(), current.offlineAfterMinutes()),
                      message("custom_status", change.customStatus(), current.customStatus()),
                      message("away_message", change.awayMessage(), current.awayMessage()));
              check(next);
              return settings.put(next);
            })
        .thenCompose(
            saved -> invalidations.publish(KIND, user).thenApply(v -> saved));
  }

  private static int or(Integer v, int fallback) {
    return v == null ? fallback : v;
  }

  private static String message(String field, String value, String fallback) {
    if (value == null) {
      return fallback;
    }
    String s = value.strip();
    if (s.length() > UserSettings.MAX_MESSAGE_LENGTH) {
      throw new ProtocolException(
          ErrorCode.INVALID_SETTING,
          field + ": at most " + UserSettings.MAX_MESSAGE_LENGTH + " characters");
    }
    if (AppFields.hasControlCharacters(s)) {
      throw new ProtocolException(ErrorCode.INVALID_SETTING, field + ": control characters");
    }
    return s;
  }

  private static void check(UserSettings s) {
    choice("online_within_minutes", s.onlineWithinMinutes(), UserSettings.ONLINE_CHOICES);
    choice("away_after_minutes", s.awayAfterMinutes(), UserSettings.AWAY_CHOICES);
    choice("offline_after_minutes", s.offlineAfterMinutes(), UserSettings.OFFLINE_CHOICES);
    if (s.awayAfterMinutes() >= s.offlineAfterMinutes()) {
      throw new ProtocolException(
          ErrorCode.INVALID_SETTING, "away_after_minutes must be below offline_after_minutes");
    }
    if (!s.valid()) {
      throw new ProtocolException(ErrorCode.INVALID_SETTING);
    }
  }

  private static void choice(String field, int value, int[] choices) {
    if (Arrays.stream(choices).noneMatch(c -> c == value)) {
      throw new ProtocolException(
          ErrorCode.INVALID_SETTING, field + " must be one of " + Arrays.toString(choices));
    }
  }
}
