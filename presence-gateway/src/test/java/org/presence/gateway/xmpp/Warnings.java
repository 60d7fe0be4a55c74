package org.presence.gateway.xmpp;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * Collects what the node logs at WARN or above while it is open ({@link #logged}), and what the
 * loggers of the classes it is given log at DEBUG ({@link #debug}; they are set to DEBUG
 * meanwhile).
 */
final class Warnings implements AutoCloseable {
  final List<String> logged = new CopyOnWriteArrayList<>();
  final List<String> debug = new CopyOnWriteArrayList<>();
  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
  private final Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
  private final List<Logger> raised = new ArrayList<>();
  private final List<Level> before = new ArrayList<>();
  private final AppenderBase<ILoggingEvent> appender =
      new AppenderBase<>() {
        @Override
        protected void append(ILoggingEvent e) {
          String line = e.getLoggerName() + ": " + e.getFormattedMessage();
          if (e.getLevel().isGreaterOrEqual(Level.WARN)) {
            logged.add(line);
          } else if (e.getLevel() == Level.DEBUG) {
            debug.add(line);
          }
        }
      };

  Warnings(Class<?>... debugOf) {
    appender.setContext(context);
    appender.start();
    root.addAppender(appender);
    for (Class<?> c : debugOf) {
      Logger l = context.getLogger(c);
      raised.add(l);
      before.add(l.getLevel());
      l.setLevel(Level.DEBUG);
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < raised.size(); i++) {
      raised.get(i).setLevel(before.get(i));
    }
    root.detachAppender(appender);
    appender.stop();
  }
}
