package org.presence.gateway.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.presence.client.DeviceClient;
import org.presence.client.PresenceException;
import org.presence.client.PresenceStatus;
import org.presence.daemon.PresenceDaemon;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.identity.DevIdentity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code presence device --email you@example.com}: a device client on the terminal, for trying
 * Presence on one machine (the demo page shows what an application sees). It connects to the node's
 * device channel with a development identity token (or {@code --token}; with neither it pairs
 * itself with the node, see {@link DevicePairing}, and refreshes its identity on the live socket
 * before it expires), then reads one status per line from standard input ({@code online}, {@code
 * away lunch}, {@code unavailable}, {@code offline}; the words after the status are the custom
 * message) and prints what the node answers and sends. End of input (Ctrl-D) or {@code quit}
 * disconnects. A paired device whose pairing the node no longer accepts (errno −12, or a refresh
 * answered {@code invalid_grant}) stops at once with exit status 1 and says to run it again, which
 * pairs it again; it is not retried.
 */
@Command(
    name = "device",
    mixinStandardHelpOptions = true,
    description = {
      "Act as a device: send the statuses typed on standard input.",
      "It connects to the node's device channel; type one status per line:",
      "online | away [message] | unavailable [message] | offline. End with Ctrl-D or 'quit'."
    })
final class DeviceCommand implements Callable<Integer> {
  private final Map<String, String> env;
  private final InputStream in;

  @Spec CommandSpec spec;

  @Mixin NodeOptions options = new NodeOptions();

  @Option(
      names = "--email",
      description = {
        "Who the device belongs to (a development token is made for it).",
        "Without --email and --token the device pairs with the node: it prints a code to enter",
        "at the node's /pair page, keeps a refresh token in the data directory and refreshes",
        "its identity before it expires."
      })
  String email;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "An identity token to use instead of a development one.")
  String token;

  @Option(
      names = "--device",
      defaultValue = "terminal",
      description = "The device's id (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(
      names = "--url",
      paramLabel = "URL",
      description = "The node (default: from the configuration, http://127.0.0.1:8080).")
  String url;

  DeviceCommand(Map<String, String> env, InputStream in) {
    this.env = env;
    this.in = in;
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    PresenceConfig config = options.load(env, err);
    if (config == null) {
      return PresenceCli.EXIT_USAGE;
    }
    URI base = URI.create(url != null ? url : config.baseUrl(config.gateway().port()));
    Printer printer = new Printer(out);
    Optional<Supplier<String>> tokens;
    if (token == null && email == null) {
      try {
        tokens =
            Optional.of(paired(new DevicePairing(base, config.dataDir()), out, printer::revoked));
      } catch (IOException e) {
        err.println("presence: " + e.getMessage());
        return PresenceCli.EXIT_STARTUP;
      }
    } else {
      tokens = tokens(config, err);
    }
    if (tokens.isEmpty()) {
      return PresenceCli.EXIT_USAGE;
    }
    URI ws = webSocket(base);
    DeviceClient client =
        DeviceClient.builder(base)
            .token(tokens.get())
            .device(device)
            .listener(printer)
            .answerTimeout(Duration.ofSeconds(10))
            .start();
    String session;
    try {
      session = printer.firstSession.get(15, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      client.close();
      PresenceException why =
          e.getCause() instanceof PresenceException p
              ? p
              : new PresenceException(e.getCause().toString(), e.getCause());
      if (why.errno() == PresenceException.NO_ERRNO) {
        err.println("presence: cannot connect to " + ws + ": " + rootMessage(why));
      } else {
        err.println("presence: the node refused the session: " + why.getMessage());
      }
      return PresenceCli.EXIT_STARTUP;
    } catch (TimeoutException e) {
      client.close();
      err.println("presence: cannot connect to " + ws + ": no answer");
      return PresenceCli.EXIT_STARTUP;
    }
    out.println(
        "connected to "
            + ws
            + " as "
            + (email != null ? email : "the token's user")
            + " (session "
            + session
            + ")");
    out.println(
        "type a status per line: online | away [message] | unavailable [message] | offline;"
            + " ack <id> or dismiss <id> to answer a notification; Ctrl-D to stop");
    out.flush();
    List<CompletableFuture<Void>> sent = new ArrayList<>();
    // Lines are read on a thread of their own, so that a session that ends by itself (the pairing
    // revoked) stops the command without waiting for the next line.
    BlockingQueue<Optional<String>> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> readLines(lines, err), "presence-device-stdin");
    reader.setDaemon(true);
    reader.start();
    while (!printer.stopped.isDone()) {
      Optional<String> next = lines.poll(100, TimeUnit.MILLISECONDS);
      if (next == null) {
        continue;
      }
      if (next.isEmpty()) {
        break; // end of input
      }
      String t = next.get().strip();
      if (t.isEmpty()) {
        continue;
      }
      if (t.equalsIgnoreCase("quit") || t.equalsIgnoreCase("exit")) {
        break;
      }
      String[] parts = t.split("\\s+", 2);
      String verb = parts[0].toLowerCase(Locale.ROOT);
      if (verb.equals("ack") || verb.equals("dismiss")) {
        if (parts.length < 2) {
          err.println(verb + " needs the notification's id (printed with it)");
          err.flush();
          continue;
        }
        List<String> ids = List.of(parts[1].trim().split("\\s+"));
        sent.add(
            printer.answer(verb.equals("ack") ? client.acknowledge(ids) : client.dismiss(ids)));
        continue;
      }
      PresenceStatus status = PresenceStatus.fromWire(verb);
      if (status == null) {
        err.println("not a status: " + parts[0] + " (online, away, unavailable or offline)");
        err.flush();
        continue;
      }
      sent.add(printer.answer(client.status(status, parts.length > 1 ? parts[1] : null)));
    }
    String revoked = printer.revoked.getNow(null);
    if (revoked != null) {
      client.close();
      err.println(
          "presence: this device's pairing was revoked ("
              + revoked
              + "): stopping; run presence device again to pair it again (it prints a code to"
              + " enter at the node's /pair page)");
      err.flush();
      return PresenceCli.EXIT_STARTUP;
    }
    // Wait for the answers to what was sent before saying goodbye.
    try {
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
          .exceptionally(e -> null)
          .get(10, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // Say goodbye anyway.
    }
    client.close();
    out.println("disconnected");
    out.flush();
    return 0;
  }

  /** Puts standard input's lines into {@code lines}, then an empty one at its end. */
  private void readLines(BlockingQueue<Optional<String>> lines, PrintWriter err) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        lines.add(Optional.of(line));
      }
    } catch (IOException e) {
      synchronized (err) {
        err.println("presence: " + e.getMessage());
        err.flush();
      }
    }
    lines.add(Optional.empty());
  }

  static Supplier<String> paired(DevicePairing pairing, PrintWriter out)
      throws IOException, InterruptedException {
    return paired(pairing, out, why -> {});
  }

  /**
   * Pairs the device (or reuses the refresh token kept from an earlier pairing) and returns where
   * its identity tokens come from: the first is the one pairing gave, every later one (a reconnect,
   * a refresh on the live socket) a new one from the node's token endpoint. A refresh answered
   * {@code invalid_grant} is told to {@code revoked} (with the node's answer) before the supplier
   * throws {@link PresenceDaemon.PairingRevokedException}.
   */
  static Supplier<String> paired(DevicePairing pairing, PrintWriter out, Consumer<String> revoked)
      throws IOException, InterruptedException {
    AtomicReference<String> first = new AtomicReference<>(pairing.identity(out).token());
    return () -> {
      String t = first.getAndSet(null);
      if (t != null) {
        return t;
      }
      try {
        return pairing.refresh().token();
      } catch (DevicePairing.Revoked e) {
        // Not worth trying again: the daemon and the terminal device stop and say to pair again.
        revoked.accept(e.getMessage());
        throw new PresenceDaemon.PairingRevokedException(e.getMessage());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    };
  }

  /**
   * Where identity tokens come from: {@code --token} as given, or a new development token for
   * {@code --email} at every connect (so a device left running reconnects after its token expired).
   */
  private Optional<Supplier<String>> tokens(PresenceConfig config, PrintWriter err) {
    if (token != null) {
      String t = token.trim();
      return Optional.of(() -> t);
    }
    if (!config.identity().devSigning()) {
      err.println("presence: identity.dev-signing is off: give --token");
      return Optional.empty();
    }
    String e = email.trim();
    if (e.length() > 254 || !e.matches("[^@\\s]+@[^@\\s]+")) {
      err.println("presence: --email: not an email address");
      return Optional.empty();
    }
    DevIdentity dev = DevIdentity.loadOrCreate(config.dataDir());
    return Optional.of(
        () -> dev.mint(e, config.identity().devTokenLifetime(), config.identity().audience()));
  }

  private static URI webSocket(URI base) {
    String scheme =
        "https".equals(base.getScheme()) || "wss".equals(base.getScheme()) ? "wss" : "ws";
    String path = base.getPath() == null || base.getPath().equals("/") ? "" : base.getPath();
    return URI.create(scheme + "://" + base.getRawAuthority() + path + "/presence");
  }

  private static String rootMessage(Throwable e) {
    // The innermost message that is not only a wrapper's copy of its cause's name. A refused or
    // dropped connection ends in a ConnectException or ClosedChannelException without one, which
    // the wrappers' messages ("Cannot connect to ...") do not explain: say so instead.
    String message = null;
    Throwable innermost = e;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      innermost = t;
      String m = t.getMessage();
      if (m != null
          && !m.isBlank()
          && (t.getCause() == null || !m.equals(t.getCause().toString()))) {
        message = m;
      }
    }
    boolean bare = innermost.getMessage() == null || innermost.getMessage().isBlank();
    if (bare
        && (innermost instanceof ConnectException || innermost instanceof ClosedChannelException)) {
      return "connection refused or closed";
    }
    return message != null ? message : innermost.getClass().getSimpleName();
  }

  /** Prints what the node sends and what the client does; the first session completes a future. */
  private static final class Printer implements DeviceClient.Listener {
    final CompletableFuture<String> firstSession = new CompletableFuture<>();
    final CompletableFuture<Void> stopped = new CompletableFuture<>();

    /** Why the pairing is no longer accepted, once it is not. */
    final CompletableFuture<String> revoked = new CompletableFuture<>();

    private final PrintWriter out;

    Printer(PrintWriter out) {
      this.out = out;
    }

    private void print(String line) {
      synchronized (out) {
        out.println(line);
        out.flush();
      }
    }

    /** Prints "ok" or the error when {@code answer} completes. */
    CompletableFuture<Void> answer(CompletableFuture<Void> answer) {
      return answer.whenComplete(
          (v, e) -> {
            if (e == null) {
              print("ok");
            } else {
              Throwable c =
                  e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
              print(
                  c instanceof PresenceException p && p.errno() != PresenceException.NO_ERRNO
                      ? "error " + p.errno() + ": " + p.reason()
                      : "error: " + c.getMessage());
            }
          });
    }

    @Override
    public void onConnected(String sessionId) {
      if (!firstSession.complete(sessionId)) {
        print("reconnected (session " + sessionId + ")");
      }
    }

    /** The pairing is revoked: the command stops. */
    void revoked(String why) {
      revoked.complete(why);
      stopped.complete(null);
    }

    @Override
    public void onDisconnected(PresenceException cause, Duration retryIn) {
      if (cause.errno() == DeviceClient.DEVICE_REVOKED) {
        revoked("errno " + cause.errno() + ": " + cause.reason());
      }
      if (!firstSession.isDone()) {
        firstSession.completeExceptionally(cause);
        return;
      }
      if (retryIn == null) {
        print("session ended: " + cause.getMessage());
        stopped.complete(null);
      } else {
        print(
            "connection lost ("
                + cause.getMessage()
                + "); reconnecting in "
                + retryIn.toMillis()
                + " ms");
      }
    }

    @Override
    public void onNotifications(List<DeviceClient.Notification> notifications) {
      for (DeviceClient.Notification x : notifications) {
        print(
            (x.missed() ? "missed notification from " : "notification from ")
                + x.source()
                + ": "
                + x.message()
                + " -> "
                + x.action()
                + " (id "
                + x.id()
                + ")");
      }
    }

    @Override
    public void onIdentityRefreshed(long expiresAtMillis) {
      print("identity refreshed until " + java.time.Instant.ofEpochMilli(expiresAtMillis));
    }

    @Override
    public void onSettings(DeviceClient.Settings s) {
      print(
          "settings changed: custom status \""
              + s.customStatus()
              + "\", away message \""
              + s.awayMessage()
              + "\", online within "
              + s.onlineWithinMinutes()
              + " min, away after "
              + s.awayAfterMinutes()
              + " min, offline after "
              + s.offlineAfterMinutes()
              + " min");
    }
  }
}
