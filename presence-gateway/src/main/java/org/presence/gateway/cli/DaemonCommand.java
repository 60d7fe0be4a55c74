package org.presence.gateway.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.freedesktop.dbus.exceptions.DBusException;
import org.presence.client.PresenceException;
import org.presence.daemon.IdleSource;
import org.presence.daemon.LogindIdle;
import org.presence.daemon.PresenceDaemon;
import org.presence.daemon.X11Idle;
import org.presence.daemon.XdgState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code presence daemon}: the desktop daemon (docs/clients.md#the-desktop-daemon), run by the
 * systemd user unit {@code presence-daemon.service}. Its settings come from the options, else from
 * {@code $XDG_CONFIG_HOME/presence/daemon.properties} ({@code url}, {@code token-file}, {@code
 * device}); its state (device id, the paired device's refresh token) lives in {@code
 * $XDG_STATE_HOME/presence}. It runs until stopped (SIGTERM, or its thread interrupted), sending
 * {@code offline} on the way out.
 */
@Command(
    name = "daemon",
    mixinStandardHelpOptions = true,
    description = {
      "Run the desktop daemon: idle time sets your status.",
      "The session's idle time under your presence policy becomes your status, and live",
      "notifications show on the desktop with Accept and Dismiss.",
      "Signs in with --token-file, or pairs with the node (a code to enter at its /pair page).",
      "Settings: the options, else $XDG_CONFIG_HOME/presence/daemon.properties (url, token-file,",
      "device); state in $XDG_STATE_HOME/presence."
    })
final class DaemonCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(DaemonCommand.class);

  /** The configuration file in the XDG configuration directory. */
  static final String CONFIG_FILE = "daemon.properties";

  private final Map<String, String> env;

  @Spec CommandSpec spec;

  @Option(
      names = "--url",
      paramLabel = "URL",
      description = "The node (default: url in daemon.properties, else http://127.0.0.1:8080).")
  String url;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      description = {
        "A file holding an identity token, read again before every connect (keep it 0600).",
        "Without one, the daemon pairs with the node and keeps a refresh token in its state."
      })
  Path tokenFile;

  @Option(
      names = "--device",
      paramLabel = "ID",
      description = "The device's id (default: one made up on the first run and kept).")
  String device;

  @Option(
      names = "--poll",
      paramLabel = "SECONDS",
      defaultValue = "15",
      description = "How often the idle time is read (default: ${DEFAULT-VALUE} s).")
  int pollSeconds;

  DaemonCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    XdgState xdg;
    Properties conf;
    try {
      xdg = XdgState.of(env);
      conf = config(xdg.configDir().resolve(CONFIG_FILE));
    } catch (IOException | IllegalStateException e) {
      err.println("presence: " + e.getMessage());
      return PresenceCli.EXIT_USAGE;
    }
    if (pollSeconds < 1 || pollSeconds > 3600) {
      err.println("presence: --poll: 1 to 3600 seconds");
      return PresenceCli.EXIT_USAGE;
    }
    String u = url != null ? url : conf.getProperty("url", "http://127.0.0.1:8080");
    URI base;
    try {
      base = URI.create(u.strip());
      if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme())
          || base.getHost() == null) {
        throw new IllegalArgumentException("not an http or https URL with a host");
      }
    } catch (IllegalArgumentException e) {
      err.println("presence: url " + u + ": " + e.getMessage());
      return PresenceCli.EXIT_USAGE;
    }
    Path tokens =
        tokenFile != null
            ? tokenFile
            : conf.getProperty("token-file") == null
                ? null
                : Path.of(conf.getProperty("token-file").strip());
    Supplier<String> supplier;
    String id;
    try {
      Path state = xdg.createStateDir();
      id = device != null ? device : conf.getProperty("device", xdg.deviceId()).strip();
      if (!id.matches("[A-Za-z0-9._:-]{1,64}")) {
        err.println("presence: device id " + id + ": 1-64 of A-Z a-z 0-9 . _ : -");
        return PresenceCli.EXIT_USAGE;
      }
      if (tokens != null) {
        if (readToken(tokens, err) == null) {
          return PresenceCli.EXIT_USAGE;
        }
        supplier = () -> tokenOrThrow(tokens);
      } else {
        supplier = DeviceCommand.paired(new DevicePairing(base, state), out);
      }
    } catch (IOException e) {
      err.println("presence: " + e.getMessage());
      return PresenceCli.EXIT_STARTUP;
    }

    DBusConnection system = connect(env.get("DBUS_SYSTEM_BUS_ADDRESS"), true);
    DBusConnection session = connect(sessionBusAddress(env), false);
    IdleSource idle = () -> null;
    LogindIdle logind = null;
    if (system != null) {
      logind =
          new LogindIdle(
              system,
              env.getOrDefault("XDG_SESSION_ID", "auto"),
              () -> System.currentTimeMillis() * 1000);
      idle = logind;
    }
    String display = env.get("DISPLAY");
    if (display != null && !display.isEmpty()) {
      idle = idle.orElse(new X11Idle(display));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean revoked = new AtomicBoolean();
    PresenceDaemon daemon =
        PresenceDaemon.builder(base)
            .events(
                new PresenceDaemon.Events() {
                  @Override
                  public void stopped(PresenceException cause) {
                    // Revoked: exit 1, after which the user unit starts it again (RestartSec) and
                    // it pairs at start.
                    revoked.set(true);
                    stopped.countDown();
                  }
                })
            .tokens(supplier)
            .device(id)
            .idle(idle)
            .notifications(session)
            .opener(DaemonCommand::open)
            .sleepNotices(logind)
            .networkNotices(system)
            .poll(Duration.ofSeconds(pollSeconds))
            .start();
    out.println("presence daemon: device " + id + " on " + base + " (stop with SIGTERM)");
    out.flush();
    Thread hook =
        new Thread(
            () -> {
              daemon.close();
              closeQuietly(system);
              closeQuietly(session);
              stopped.countDown();
            },
            "presence-daemon-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      stopped.await();
      if (revoked.get() && Runtime.getRuntime().removeShutdownHook(hook)) {
        hook.run();
        err.println(
            "presence: this device's pairing was revoked: start presence daemon again to pair it");
        return PresenceCli.EXIT_STARTUP;
      }
    } catch (InterruptedException e) {
      // Stopped from inside the JVM (a test, an embedding program): the same orderly stop.
      if (Runtime.getRuntime().removeShutdownHook(hook)) {
        hook.run();
      }
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /** The configuration file's settings; none when it does not exist. */
  static Properties config(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (NoSuchFileException e) {
      // No file: the defaults.
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
    return p;
  }

  /**
   * The token in {@code file} (checked at start), or {@code null} after saying why there is none.
   */
  private static String readToken(Path file, PrintWriter err) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (perms.contains(PosixFilePermission.OTHERS_READ)
          || perms.contains(PosixFilePermission.GROUP_READ)) {
        err.println("presence: warning: " + file + " is readable by others (chmod 600 it)");
      }
    } catch (IOException | UnsupportedOperationException e) {
      // Reading it says what is wrong.
    }
    try {
      String t = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (t.isEmpty()) {
        err.println("presence: token file " + file + " is empty");
        return null;
      }
      return t;
    } catch (IOException e) {
      err.println("presence: cannot read the token file " + file + ": " + e);
      return null;
    }
  }

  private static String tokenOrThrow(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * {@code $DBUS_SESSION_BUS_ADDRESS}, else the user bus of systemd ({@code $XDG_RUNTIME_DIR/bus}),
   * else {@code null}.
   */
  static String sessionBusAddress(Map<String, String> env) {
    String a = env.get("DBUS_SESSION_BUS_ADDRESS");
    if (a != null && !a.isEmpty()) {
      return a;
    }
    String runtime = env.get("XDG_RUNTIME_DIR");
    if (runtime != null && Files.exists(Path.of(runtime, "bus"))) {
      return "unix:path=" + Path.of(runtime, "bus");
    }
    return null;
  }

  /** A bus connection, or {@code null} (said in the log) when there is none. */
  private static DBusConnection connect(String address, boolean system) {
    try {
      if (address != null && !address.isEmpty()) {
        return DBusConnectionBuilder.forAddress(address).withShared(false).build();
      }
      return system ? DBusConnectionBuilder.forSystemBus().withShared(false).build() : null;
    } catch (DBusException | RuntimeException e) {
      LOG.warn(
          "no {} bus ({}): {}",
          system ? "system" : "session",
          e.getMessage(),
          system ? "idle time from X11 only, no suspend notices" : "no desktop notifications");
      return null;
    }
  }

  /** Opens an accepted notification's web link in the user's browser. */
  private static void open(String link) {
    if (!link.startsWith("https://") && !link.startsWith("http://")) {
      return;
    }
    try {
      new ProcessBuilder("xdg-open", link)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      LOG.info("cannot open {}: {}", link, e.getMessage());
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      // Stopping anyway.
    }
  }
}
