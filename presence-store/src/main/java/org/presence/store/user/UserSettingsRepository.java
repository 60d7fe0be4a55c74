package org.presence.store.user;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;

/** Users' presence policy and custom messages. */
public interface UserSettingsRepository {
  /** The user's settings, or {@link UserSettings#defaults} when they never saved any. */
  CompletionStage<UserSettings> get(String userSub);

  /**
   * The users who have stored settings, at most {@code limit} of them (in no order): callers that
   * get {@code limit} names cannot tell whether there are more.
   */
  CompletionStage<List<String>> storedUsers(int limit);

  /**
   * The users whose settings were saved at or after {@code since} (by the clock of the node that
   * saved them), at most {@code limit} of them (in no order), read off the {@code updated_at}
   * index: what a reader that knew the users with settings before {@code since} is missing.
   */
  CompletionStage<List<String>> changedUsers(Instant since, int limit);

  /** Saves the settings (creating or replacing) and returns what is stored. */
  CompletionStage<UserSettings> put(UserSettings settings);
}
