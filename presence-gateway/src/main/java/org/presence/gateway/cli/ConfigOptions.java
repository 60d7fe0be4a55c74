package org.presence.gateway.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.presence.gateway.config.ConfigLoader;
import org.presence.gateway.config.InvalidConfigException;
import org.presence.gateway.config.PresenceConfig;
import picocli.CommandLine.Option;

/**
 * The configuration flags shared by every command. Each flag is a shorthand for one setting; {@code
 * --set path=value} reaches any other. Flags win over environment variables, which win over the
 * file.
 */
public final class ConfigOptions {
  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "HOCON configuration file (see config/presence.sample.conf).")
  Path configFile;

  @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to bind (gateway.host).")
  String host;

  @Option(names = "--port", paramLabel = "PORT", description = "Port to bind (gateway.port).")
  Integer port;

  @Option(
      names = "--admin-port",
      paramLabel = "PORT",
      description = "The operator's port, serving /metrics (admin.port; 0 picks a free one).")
  Integer adminPort;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description = "Node-local state: embedded database, development key (data-dir).")
  Path dataDir;

  @Option(
      names = "--database-url",
      paramLabel = "URL",
      description = "PostgreSQL URL (store.database.url); empty for the embedded database.")
  String databaseUrl;

  @Option(
      names = "--redis-url",
      paramLabel = "URL",
      description =
          "Redis URL (store.redis.url): redis://host:6379, or"
              + " redis-sentinel://host:26379[,host:port...]/#<master> through Redis Sentinel, or"
              + " redis-cluster://host:port[,host:port...] (seed nodes) for a Redis Cluster;"
              + " [[user:]password@] before the first host, rediss... schemes for TLS;"
              + " empty for the in-process bus.")
  String redisUrl;

  @Option(names = "--node-id", paramLabel = "ID", description = "This node's id (node-id).")
  String nodeId;

  @Option(
      names = "--log-format",
      paramLabel = "FORMAT",
      description = "text or json (logging.format).")
  String logFormat;

  @Option(
      names = "--allow-dev-sign-in-on-public-address",
      description =
          "Start even though the passwordless development sign-in is on and --host is not a"
              + " loopback address (web.dev-sign-in-on-public-address). Anyone who reaches the"
              + " node can then sign in as anyone.")
  boolean allowDevSignInOnPublicAddress;

  @Option(
      names = "--set",
      paramLabel = "PATH=VALUE",
      description = "Any setting, for example --set limits.max-frame-bytes=16k. Repeatable.")
  Map<String, String> settings = new LinkedHashMap<>();

  /**
   * Loads the configuration these flags, {@code env} and the file describe; on problems prints one
   * line each to {@code err} and returns {@code null} (the command then exits with {@link
   * PresenceCli#EXIT_USAGE}).
   */
  PresenceConfig load(Map<String, String> env, PrintWriter err) {
    List<String> twice = givenTwice();
    if (!twice.isEmpty()) {
      twice.forEach(p -> err.println("presence: " + p));
      return null;
    }
    try {
      return ConfigLoader.load(
          configFile, env, asSettings(), warning -> err.println("presence: " + warning));
    } catch (InvalidConfigException e) {
      e.problems().forEach(p -> err.println("presence: " + p));
      return null;
    }
  }

  /** The flags as settings, keyed by path below {@code presence}. */
  Map<String, String> asSettings() {
    Map<String, String> out = new LinkedHashMap<>(settings);
    shorthands().forEach((key, flag) -> out.put(key, flag.value()));
    return out;
  }

  /**
   * A setting given both by its flag and by {@code --set}, one line each: which of two values on
   * one command line was meant is not for the node to guess (the flag used to win, and a wrong
   * value in the {@code --set} went unreported).
   */
  List<String> givenTwice() {
    List<String> problems = new ArrayList<>();
    shorthands()
        .forEach(
            (key, flag) -> {
              if (settings.containsKey(key)) {
                problems.add(
                    key + ": given twice, by " + flag.name() + " and by --set; give it once");
              }
            });
    return problems;
  }

  private record Flag(String name, String value) {}

  /** The shorthand flags given, by the setting each stands for. */
  private Map<String, Flag> shorthands() {
    Map<String, Flag> out = new LinkedHashMap<>();
    put(out, "gateway.host", "--host", host);
    put(out, "gateway.port", "--port", port);
    put(out, "admin.port", "--admin-port", adminPort);
    put(out, "data-dir", "--data-dir", dataDir);
    put(out, "store.database.url", "--database-url", databaseUrl);
    put(out, "store.redis.url", "--redis-url", redisUrl);
    put(out, "node-id", "--node-id", nodeId);
    put(out, "logging.format", "--log-format", logFormat);
    if (allowDevSignInOnPublicAddress) {
      put(out, "web.dev-sign-in-on-public-address", "--allow-dev-sign-in-on-public-address", true);
    }
    return out;
  }

  private static void put(Map<String, Flag> out, String key, String flag, Object value) {
    if (value != null) {
      out.put(key, new Flag(flag, value.toString()));
    }
  }
}
