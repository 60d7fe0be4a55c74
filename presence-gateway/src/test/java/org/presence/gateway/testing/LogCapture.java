package org.presence.gateway.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * What one class's logger logs while this is open, DEBUG included (the logger is set to DEBUG
 * meanwhile): for a test that tells which part of the node did something by the line it logs (a
 * connection closed by a timer, not by how soon it closed).
 */
public final class LogCapture implements AutoCloseable {
  private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
  private final Logger logger;
  private final Level before;
  private final AppenderBase<ILoggingEvent> appender =
      new AppenderBase<>() {
        @Override
        protected void append(ILoggingEvent e) {
          events.add(e);
        }
      };

  private LogCapture(Logger logger, boolean debug) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    this.logger = logger;
    before = logger.getLevel();
    appender.setContext(context);
    appender.start();
    logger.addAppender(appender);
    if (debug) {
      logger.setLevel(Level.DEBUG);
    }
  }

  /** Captures what {@code of}'s logger logs from now until {@link #close}. */
  public static LogCapture of(Class<?> of) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    return new LogCapture(context.getLogger(of), true);
  }

  /**
   * Captures what every logger under {@code name} (a package, {@code "org.presence"}) logs at its
   * usual level, from now until {@link #close}: for a test that no part of the node logged an
   * error.
   */
  public static LogCapture errorsUnder(String name) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    return new LogCapture(context.getLogger(name), false);
  }

  /** The lines so far, each its level, a space and the formatted message. */
  public List<String> lines() {
    return events.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
  }

  /** The formatted messages so far of the lines at {@code level}. */
  public List<String> at(Level level) {
    return events.stream()
        .filter(e -> e.getLevel() == level)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Override
  public void close() {
    logger.setLevel(before);
    logger.detachAppender(appender);
    appender.stop();
  }
}
