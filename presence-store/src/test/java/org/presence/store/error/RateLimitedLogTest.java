package org.presence.store.error;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A flood of one failure writes its first line at once, then one per interval with a count. */
class RateLimitedLogTest {
  private static ListAppender<ILoggingEvent> capture(String name) {
    Logger logger = (Logger) LoggerFactory.getLogger(name);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    return lines;
  }

  @Test
  void warn_logsTheFirstLine_thenNothingWithinTheInterval() {
    ListAppender<ILoggingEvent> lines = capture("RateLimitedLogTest.hour");
    RateLimitedLog log =
        new RateLimitedLog(LoggerFactory.getLogger("RateLimitedLogTest.hour"), Duration.ofHours(1));

    assertThat(log.warn("redis call failed: first")).isTrue();
    for (int i = 0; i < 1000; i++) {
      assertThat(log.warn("redis call failed: again")).isFalse();
    }

    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("redis call failed: first");
  }

  @Test
  void warn_afterTheInterval_logsAgain_sayingHowManyWereLeftOut() throws InterruptedException {
    ListAppender<ILoggingEvent> lines = capture("RateLimitedLogTest.short");
    RateLimitedLog log =
        new RateLimitedLog(
            LoggerFactory.getLogger("RateLimitedLogTest.short"), Duration.ofMillis(200));

    log.warn("one");
    log.warn("two");
    log.warn("three");
    Thread.sleep(300);
    assertThat(log.warn("four")).isTrue();

    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("one", "four (2 more left out before this one)");
  }
}
