package org.presence.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Logback appender (configured in {@code logback-test.xml}) that keeps every leak report of
 * Netty's {@code ResourceLeakDetector}, for {@link LeakDetectionExtension} to fail the test with.
 */
public final class LeakRecorder extends AppenderBase<ILoggingEvent> {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  @Override
  protected void append(ILoggingEvent event) {
    if (event.getLevel().isGreaterOrEqual(Level.ERROR)
        && event.getLoggerName().startsWith("io.netty.util.ResourceLeakDetector")
        && event.getFormattedMessage().contains("LEAK")) {
      LEAKS.add(event.getFormattedMessage());
    }
  }

  /** Returns and forgets the leaks reported so far. */
  static List<String> drain() {
    List<String> out = new ArrayList<>(LEAKS);
    LEAKS.removeAll(out);
    return out;
  }
}
