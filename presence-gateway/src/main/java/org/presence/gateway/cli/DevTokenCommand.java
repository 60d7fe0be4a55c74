package org.presence.gateway.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.identity.DevIdentity;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code presence dev-token --email alice@example.com}: prints an identity token signed with the
 * node's development key (in its data directory), for devices, pages and scripts on one machine.
 * Refused unless development signing is on (the embedded default, or {@code
 * identity.dev-signing=true}).
 */
@Command(
    name = "dev-token",
    mixinStandardHelpOptions = true,
    description = {
      "Print a development identity token for an email.",
      "Only where development signing is on (the embedded default, or identity.dev-signing)."
    })
final class DevTokenCommand implements Callable<Integer> {
  private final Map<String, String> env;

  @Spec CommandSpec spec;

  @Mixin ConfigOptions options = new ConfigOptions();

  @Option(names = "--email", required = true, description = "Who the token identifies.")
  String email;

  @Option(
      names = "--lifetime",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "How long the token is valid, e.g. 30m, 1h, 2d (identity.dev-token-lifetime).")
  Duration lifetime;

  DevTokenCommand(Map<String, String> env) {
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
    if (!config.identity().devSigning()) {
      err.println(
          "presence: identity.dev-signing: development tokens are off (they are on in the embedded"
              + " default; set identity.dev-signing=true to force them)");
      return PresenceCli.EXIT_USAGE;
    }
    String e = email.trim();
    if (e.length() > 254 || !e.matches("[^@\\s]+@[^@\\s]+")) {
      err.println("presence: --email: not an email address");
      return PresenceCli.EXIT_USAGE;
    }
    Duration life = lifetime != null ? lifetime : config.identity().devTokenLifetime();
    if (life.isZero() || life.isNegative() || life.compareTo(Duration.ofDays(30)) > 0) {
      err.println("presence: --lifetime: must be between 1 second and 30 days");
      return PresenceCli.EXIT_USAGE;
    }
    DevIdentity dev = DevIdentity.loadOrCreate(config.dataDir());
    out.println(dev.mint(e, life, config.identity().audience()));
    out.flush();
    return 0;
  }

  /** Durations as {@code 90s}, {@code 15m}, {@code 1h}, {@code 2d} or ISO-8601 ({@code PT1H}). */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.trim();
      if (v.startsWith("P") || v.startsWith("p")) {
        return Duration.parse(v);
      }
      if (v.length() < 2) {
        throw new IllegalArgumentException("not a duration: " + value);
      }
      long n = Long.parseLong(v.substring(0, v.length() - 1));
      return switch (v.charAt(v.length() - 1)) {
        case 's' -> Duration.ofSeconds(n);
        case 'm' -> Duration.ofMinutes(n);
        case 'h' -> Duration.ofHours(n);
        case 'd' -> Duration.ofDays(n);
        default -> throw new IllegalArgumentException("not a duration: " + value);
      };
    }
  }
}
