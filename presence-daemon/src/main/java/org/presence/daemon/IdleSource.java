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

  /** This source, and {@code other} whenever this one cannot tell. */
  default IdleSource orElse(IdleSource other) {
    IdleSource first = this;
    return new IdleSource() {
      @Override
      public Duration idle() throws IOException {
        Duration d = first.idle();
        return d != null ? d : other.idle();
      }

      @Override
      public void close() {
        first.close();
        other.close();
      }
    };
  }
}
