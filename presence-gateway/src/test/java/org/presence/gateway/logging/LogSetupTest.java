package org.presence.gateway.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.joran.spi.JoranException;
import ch.qos.logback.core.read.ListAppender;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.presence.gateway.config.LoggingConfig;
import org.slf4j.LoggerFactory;

/** The node's logging set-up takes in java.util.logging and System.Logger records. */
class LogSetupTest {
  private final ListAppender<ILoggingEvent> seen = new ListAppender<>();
  private Logger root;

  /**
   * The node's logging as {@code serve} sets it up: Logback configured as the node's {@code
   * logback.xml} (tests otherwise use logback-test.xml) and then {@link LogSetup#apply}.
   */
  private void start(LoggingConfig.Format format) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    configure(context, "logback.xml");
    LogSetup.apply(new LoggingConfig(format, "INFO"));
    root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    seen.setContext(context);
    seen.start();
    root.addAppender(seen);
  }

  @AfterEach
  void tearDown() {
    if (root != null) {
      root.detachAppender(seen);
    }
    seen.stop();
    configure((LoggerContext) LoggerFactory.getILoggerFactory(), "logback-test.xml");
  }

  private static void configure(LoggerContext context, String resource) {
    context.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    try {
      configurator.doConfigure(LogSetupTest.class.getClassLoader().getResource(resource));
    } catch (JoranException e) {
      throw new IllegalStateException(e);
    }
  }

  @ParameterizedTest
  @EnumSource(LoggingConfig.Format.class)
  void julRecord_reachesLogback(LoggingConfig.Format format) {
    start(format);
    java.util.logging.Logger.getLogger("presence.test.jul").warning("from java.util.logging");

    assertThat(seen.list)
        .anySatisfy(
            e -> {
              assertThat(e.getLoggerName()).isEqualTo("presence.test.jul");
              assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
              assertThat(e.getFormattedMessage()).isEqualTo("from java.util.logging");
            });
  }

  @ParameterizedTest
  @EnumSource(LoggingConfig.Format.class)
  void systemLoggerRecord_reachesLogback(LoggingConfig.Format format) {
    start(format);
    System.getLogger("presence.test.system")
        .log(System.Logger.Level.WARNING, "from System.Logger", new IllegalStateException("x"));

    assertThat(seen.list)
        .anySatisfy(
            e -> {
              assertThat(e.getLoggerName()).isEqualTo("presence.test.system");
              assertThat(e.getFormattedMessage()).isEqualTo("from System.Logger");
              assertThat(e.getThrowableProxy().getClassName())
                  .isEqualTo(IllegalStateException.class.getName());
            });
  }

  @ParameterizedTest
  @EnumSource(LoggingConfig.Format.class)
  void logbackLevels_areJulLevels(LoggingConfig.Format format) {
    start(format);
    // LevelChangePropagator: JUL's levels follow Logback's, so a record Logback would drop is not
    // even built (FINE at INFO), and one it wants is handed over (FINE once the logger is DEBUG).
    java.util.logging.Logger jul = java.util.logging.Logger.getLogger("presence.test.levels");
    assertThat(jul.isLoggable(java.util.logging.Level.FINE)).isFalse();
    Logger logback = root.getLoggerContext().getLogger("presence.test.levels");
    logback.setLevel(ch.qos.logback.classic.Level.DEBUG);
    try {
      assertThat(jul.isLoggable(java.util.logging.Level.FINE)).isTrue();
      jul.fine("fine from java.util.logging");
      assertThat(seen.list)
          .anyMatch(e -> e.getFormattedMessage().equals("fine from java.util.logging"));
    } finally {
      logback.setLevel(null);
    }
  }

  @ParameterizedTest
  @EnumSource(LoggingConfig.Format.class)
  void failedAsyncLoad_writesNoCaffeineWarning(LoggingConfig.Format format) {
    start(format);
    AsyncLoadingCache<String, String> cache =
        Caffeine.newBuilder()
            .executor(Runnable::run)
            .buildAsync(
                (String key, java.util.concurrent.Executor ex) ->
                    CompletableFuture.failedFuture(new IllegalStateException("database down")));

    Assertions.assertThatThrownBy(() -> cache.get("user").join())
        .isInstanceOf(CompletionException.class);

    // The caller logs or answers the failure; Caffeine's stack trace per load is left out.
    assertThat(seen.list).noneMatch(e -> e.getLoggerName().startsWith("com.github.benmanes"));
  }

  /**
   * Netty's SslHandler warns once per TLS connection closed while its peer does not read (any
   * client can cause it): both configurations leave it out, and keep its errors.
   */
  @ParameterizedTest
  @EnumSource(LoggingConfig.Format.class)
  void sslHandlersForcedClose_isNotLogged(LoggingConfig.Format format) {
    start(format);
    org.slf4j.Logger ssl = LoggerFactory.getLogger(io.netty.handler.ssl.SslHandler.class);
    ssl.warn("[id: 0x1] Last write attempt timed out; force-closing the connection.");
    ssl.error("an error of the TLS handler");

    assertThat(seen.list).noneMatch(e -> e.getFormattedMessage().contains("Last write attempt"));
    assertThat(seen.list)
        .anyMatch(e -> e.getFormattedMessage().equals("an error of the TLS handler"));
  }
}
