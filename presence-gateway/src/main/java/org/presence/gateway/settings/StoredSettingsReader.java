package org.presence.gateway.settings;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.presence.store.user.UserSettingsRepository;

/**
 * Keeps a {@link StoredSettingsIndex} up to date with the settings table: one read of every user
 * with settings, then only those whose settings were saved since the read before (less a margin for
 * the clocks of the nodes that wrote them), off the {@code updated_at} index. A settings row is
 * never deleted (docs/operations.md, data retention), so the users the index knows stay right, and
 * once more than {@code most} users have settings they always will: it then stops reading for good
 * (until the node restarts), where every read found the same {@code most + 1} names again (a scale
 * probe: 100,001 names every 5 minutes past 100,000 users with settings).
 */
final class StoredSettingsReader {
  /** What one read did. */
  enum Outcome {
    /** Read every user with settings. */
    LOADED,
    /** Read the users whose settings changed since the read before. */
    ADDED,
    /** More than {@code most} users have settings: the index knows nothing, for good. */
    TOO_MANY
  }

  private final UserSettingsRepository settings;
  private final StoredSettingsIndex index;
  private final int most;
  private final Duration margin;
  private final Clock clock;

  /** When the last read that succeeded began; {@code null}: the next read reads every user. */
  private Instant lastRead;

  StoredSettingsReader(
      UserSettingsRepository settings,
      StoredSettingsIndex index,
      int most,
      Duration margin,
      Clock clock) {
    this.settings = settings;
    this.index = index;
    this.most = most;
    this.margin = margin;
    this.clock = clock;
  }

  /**
   * One read; call one at a time. A read that fails leaves the index knowing nothing, and the next
   * one reads every user again.
   */
  CompletionStage<Outcome> read() {
    long startedNanos = System.nanoTime();
    Instant startedAt = clock.instant();
    Instant since = lastRead;
    var users =
        since == null
            ? settings.storedUsers(most + 1)
            : settings.changedUsers(since.minus(margin), most + 1);
    return users.handle(
        (found, e) -> {
          if (e != null) {
            index.unknown();
            lastRead = null;
            throw e instanceof CompletionException c ? c : new CompletionException(e);
          }
          // More than most names: more than most users have settings (the changed ones too are
          // distinct users with settings).
          if (found.size() > most) {
            index.unknown();
            lastRead = null;
            return Outcome.TOO_MANY;
          }
          if (since == null) {
            index.loaded(found, startedNanos);
          } else if (index.added(found, startedNanos) > most) {
            index.unknown();
            lastRead = null;
            return Outcome.TOO_MANY;
          }
          lastRead = startedAt;
          return since == null ? Outcome.LOADED : Outcome.ADDED;
        });
  }
}
