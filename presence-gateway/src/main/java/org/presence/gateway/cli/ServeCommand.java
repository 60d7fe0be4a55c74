package org.presence.gateway.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.presence.gateway.PresenceServer;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.logging.LogSetup;
import org.presence.gateway.ops.BuildInfo;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.Causes;
import org.presence.store.error.StartupException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code presence serve}: starts a node and runs until SIGTERM (or Ctrl-C), which drains it: stop
 * accepting, close WebSockets with 1001, wait at most {@code gateway.drain-timeout}, exit.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Start a node.",
      "With no configuration: the embedded default on 127.0.0.1:8080, data in ./presence-data,",
      "no outside server needed."
    })
final class ServeCommand implements Callable<Integer> {
  private final Map<String, String> env;

  @Spec CommandSpec spec;

  @Mixin ServeOptions options = new ServeOptions();

  ServeCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    PresenceConfig config = options.load(env, err);
    if (config == null) {
      return PresenceCli.EXIT_USAGE;
    }
    LogSetup.apply(config.logging());
    PresenceServer server;
    try {
      server = PresenceServer.start(config);
    } catch (RuntimeException e) {
      err.println("presence: " + startupFailure(e));
      return PresenceCli.EXIT_STARTUP;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.close();
                  } finally {
                    LogSetup.stop();
                    stopped.countDown();
                  }
                },
                "presence-shutdown"));
    if (config.logging().format() == org.presence.gateway.config.LoggingConfig.Format.TEXT) {
      // With JSON logs stdout carries one JSON object per line; the start-up log line says where
      // the node listens.
      printBanner(out, server);
    }
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /**
   * One line for a failed start: {@code setting: message} where a {@link StartupException} names
   * the setting (anywhere in the chain), else what broke, innermost cause first; a backend that
   * fails after it connected (a command refused) ends here too. The stack trace is logged at DEBUG.
   */
  static String startupFailure(RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof StartupException s) {
        return s.setting() + ": " + oneLine(s.getMessage());
      }
    }
    LoggerFactory.getLogger(ServeCommand.class).debug("start-up failed", e);
    Throwable root = Causes.innermost(e);
    String what = Causes.innermostMessage(root);
    return "start-up failed: "
        + StoreConfig.redact(oneLine(what))
        + " ("
        + root.getClass().getName()
        + "; logging.level=DEBUG logs the stack trace)";
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
  }

  private static void printBanner(PrintWriter out, PresenceServer server) {
    PresenceConfig c = server.config();
    out.println(
        "Presence "
            + BuildInfo.current().version()
            + " listening on "
            + server.listening()
            + " (node "
            + c.nodeId()
            + ")");
    if (c.embedded()) {
      out.println(
          "Embedded default: database in "
              + c.dataDir().toAbsolutePath()
              + ", in-process bus; no outside server needed.");
    } else {
      out.println(
          "Database: "
              + server.store().persistence().kind()
              + ", bus: "
              + server.store().bus().kind());
    }
    if (c.identity().devSigning()) {
      String dataDirFlag =
          c.dataDir().toString().equals("presence-data") ? "" : " --data-dir " + c.dataDir();
      out.println(
          "Development identity token: bin/presence dev-token --email you@example.com"
              + dataDirFlag);
    }
    out.println("Health: curl " + server.baseUrl() + "/__heartbeat__");
    out.flush();
  }
}
