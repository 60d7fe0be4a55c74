package org.presence.loadtest.scenario;

import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * One step of a virtual user's scenario (connect, send, pause, ...). It runs on the user's event
 * loop and completes when the user may go on; completing exceptionally ends the user, and the
 * failure is counted once under its {@link org.presence.loadtest.targets.ClientException#kindOf
 * kind}. Errors that leave the session usable (a positive errno) are counted by the action itself,
 * which then completes normally.
 */
public interface Action {
  /** Runs the step for {@code user}. */
  CompletionStage<Void> execute(VirtualUser user);

  /** A short description for listings ({@code connect}, {@code pause 1s}). */
  String describe();

  /** The target channels this step uses. */
  default Set<Channel> requires() {
    return Set.of();
  }

  /** The target channels a scenario step can need. */
  enum Channel {
    /** The device channel. */
    DEVICES,
    /** The app update channel. */
    APPS,
    /** The notification API. */
    NOTIFICATIONS
  }
}
