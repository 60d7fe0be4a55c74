package org.presence.daemon;

import java.io.IOException;
import java.time.Duration;

/**
 * How long the user has not used the session. Called from the daemon's own thread every poll
 * interval; it may block briefly (a D-Bus call).
 */
@FunctionalInterface
public interface IdleSource extends AutoCloseable {
  /** The user's idle time, or {@code null} when this source cannot tell. */
  Duration idle() throws IOException;

  @Override
  default void close() {}

  /**
   * This source, and {@code other} whenever this one cannot tell or fails (this one's failure is
   * reported when the other cannot tell either).
   */
  default IdleSource orElse(IdleSource other) {
    IdleSource first = this;
    return new IdleSource() {
      @Override
      public Duration idle() throws IOException {
        IOException failed = null;
        try {
          Duration d = first.idle();
          if (d != null) {
            return d;
          }
        } catch (IOException e) {
          failed = e;
        }
        Duration d = other.idle();
        if (d == null && failed != null) {
          throw failed;
        }
        return d;
      }

      @Override
      public void close() {
        first.close();
        other.close();
      }
    };
  }
}
