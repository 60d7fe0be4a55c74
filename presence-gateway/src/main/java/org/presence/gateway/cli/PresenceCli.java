package org.presence.gateway.cli;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.presence.gateway.ops.BuildInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code presence} command line: {@code serve} starts a node, {@code dev-token} prints a
 * development identity token, {@code device} acts as a device typing statuses, {@code daemon} runs
 * the desktop daemon. The exit status is 0 on success, 1 when start-up fails, 2 for bad usage or
 * configuration.
 */
@Command(
    name = "presence",
    mixinStandardHelpOptions = true,
    versionProvider = PresenceCli.Version.class,
    description =
        "Presence: a trusted go-between for devices and the apps they share presence with.",
    subcommands = {
      ServeCommand.class,
      DevTokenCommand.class,
      DeviceCommand.class,
      DaemonCommand.class,
      CommandLine.HelpCommand.class
    })
public final class PresenceCli {
  /** Exit status when start-up fails (a backend or the port is unusable). */
  public static final int EXIT_STARTUP = 1;

  /** Exit status for bad usage or configuration. */
  public static final int EXIT_USAGE = 2;

  public static void main(String[] args) {
    PrintWriter out =
        new PrintWriter(
            new java.io.OutputStreamWriter(
                new java.io.FileOutputStream(java.io.FileDescriptor.out), StandardCharsets.UTF_8),
            true);
    PrintWriter err =
        new PrintWriter(
            new java.io.OutputStreamWriter(
                new java.io.FileOutputStream(java.io.FileDescriptor.err), StandardCharsets.UTF_8),
            true);
    int code = run(args, System.getenv(), System.in, out, err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** Runs the command line with the given environment and output; returns the exit status. */
  public static int run(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    return run(args, env, InputStream.nullInputStream(), out, err);
  }

  /** As {@link #run(String[], Map, PrintWriter, PrintWriter)}, with standard input (the device). */
  public static int run(
      String[] args, Map<String, String> env, InputStream in, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new PresenceCli(), new Factory(env, in));
    cli.setOut(out);
    cli.setErr(err);
    cli.setExitCodeExceptionMapper(t -> EXIT_USAGE);
    // A bad option is one line naming it (not the whole usage text), and where the help is.
    cli.setParameterExceptionHandler(
        (e, a) -> {
          CommandLine c = e.getCommandLine();
          c.getErr()
              .println(
                  "presence: "
                      + e.getMessage().replace('\n', ' ')
                      + " (see "
                      + c.getCommandSpec().qualifiedName()
                      + " --help)");
          c.getErr().flush();
          return EXIT_USAGE;
        });
    return cli.execute(args);
  }

  /** Gives commands the environment, so tests can run them without touching the real one. */
  private record Factory(Map<String, String> env, InputStream in) implements CommandLine.IFactory {
    @Override
    public <K> K create(Class<K> cls) throws Exception {
      if (cls == ServeCommand.class) {
        return cls.cast(new ServeCommand(env));
      }
      if (cls == DevTokenCommand.class) {
        return cls.cast(new DevTokenCommand(env));
      }
      if (cls == DeviceCommand.class) {
        return cls.cast(new DeviceCommand(env, in));
      }
      if (cls == DaemonCommand.class) {
        return cls.cast(new DaemonCommand(env));
      }
      return CommandLine.defaultFactory().create(cls);
    }
  }

  /** Prints the build's version and commit. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      BuildInfo b = BuildInfo.current();
      return new String[] {"presence " + b.version() + " (" + b.commit() + ")"};
    }
  }
}
