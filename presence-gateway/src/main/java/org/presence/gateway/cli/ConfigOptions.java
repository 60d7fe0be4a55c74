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
 * The configuration flags every command takes: the file, the data directory and {@code --set
 * path=value}, which reaches any setting. Flags win over environment variables, which win over the
 * file. {@link ServeOptions} adds the flags only a node's start needs; {@link NodeOptions} the
 * node's address for a client of it.
 */
public class ConfigOptions {
  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "HOCON configuration file (see config/presence.sample.conf).")
  Path configFile;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description = "Node-local state: embedded database, development key (data-dir).")
  Path dataDir;

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

  /** A shorthand flag given on the command line and its value. */
  record Flag(String name, String value) {}

  /** The shorthand flags given, by the setting each stands for. */
  private Map<String, Flag> shorthands() {
    Map<String, Flag> out = new LinkedHashMap<>();
    put(out, "data-dir", "--data-dir", dataDir);
    addFlags(out);
    return out;
  }

  /** Adds a subclass's own flags to {@code out}, by the setting each stands for. */
  void addFlags(Map<String, Flag> out) {}

  static void put(Map<String, Flag> out, String key, String flag, Object value) {
    if (value != null) {
      out.put(key, new Flag(flag, value.toString()));
    }
  }
}
