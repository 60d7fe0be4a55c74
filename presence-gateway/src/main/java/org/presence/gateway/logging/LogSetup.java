package org.presence.gateway.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.net.URL;
import org.presence.gateway.config.LoggingConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Applies the logging settings to Logback at start: the JSON (mozlog) configuration when asked for,
 * and the root level. Human-readable text on stderr is Logback's own default configuration ({@code
 * logback.xml}). Records of java.util.logging, and of {@link System.Logger} (which writes to it
 * unless told otherwise; Caffeine uses it), are handed to SLF4J, so they come out in the same
 * format and place as the node's own; both configurations keep JUL's levels Logback's ({@code
 * LevelChangePropagator}), so a disabled JUL level costs no record.
 */
public final class LogSetup {
  private LogSetup() {}

  /**
   * Reconfigures Logback for {@code config} and routes java.util.logging into it. Does nothing if
   * Logback is not the SLF4J binding.
   */
  public static void apply(LoggingConfig config) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    if (config.format() == LoggingConfig.Format.JSON) {
      URL json = LogSetup.class.getClassLoader().getResource("logback-json.xml");
      if (json != null) {
        context.reset();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
          configurator.doConfigure(json);
        } catch (JoranException e) {
          throw new IllegalStateException("cannot configure JSON logging", e);
        }
      }
    }
    context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(config.level(), Level.INFO));
    // JUL's own console handler would print a second copy, on stderr and in JUL's format.
    if (!SLF4JBridgeHandler.isInstalled()) {
      SLF4JBridgeHandler.removeHandlersForRootLogger();
      SLF4JBridgeHandler.install();
    }
  }

  /** Flushes and stops logging; the last thing a node does before it exits. */
  public static void stop() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.stop();
    }
  }
}
