package org.presence.store.user;

import java.util.concurrent.CompletionStage;

/** Users' presence policy and custom messages. */
public interface UserSettingsRepository {
  /** The user's settings, or {@link UserSettings#defaults} when they never saved any. */
  CompletionStage<UserSettings> get(String userSub);

  /** Saves the settings (creating or replacing) and returns what is stored. */
  CompletionStage<UserSettings> put(UserSettings settings);
}
