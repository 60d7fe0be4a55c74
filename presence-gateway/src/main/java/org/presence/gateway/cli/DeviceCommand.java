package org.presence.gateway.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.identity.DevIdentity;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.model.PresenceStatus;
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
 * disconnects.
 */
@Command(
    name = "device",
    mixinStandardHelpOptions = true,
    description = {
      "Act as a device: connect to the node's device channel and send the statuses typed on",
      "standard input, one per line: online | away [message] | unavailable [message] | offline.",
      "End with Ctrl-D or 'quit'."
    })
final class DeviceCommand implements Callable<Integer> {
  private final Map<String, String> env;
  private final InputStream in;

  @Spec CommandSpec spec;

  @Mixin ConfigOptions options = new ConfigOptions();

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
    URI base = URI.create(url != null ? url : config.gateway().baseUrl(config.gateway().port()));
    DevicePairing pairing = null;
    Optional<String> assertion;
    if (token == null && email == null) {
      pairing = new DevicePairing(base, config.dataDir());
      try {
        assertion = Optional.of(pairing.identity(out).token());
      } catch (IOException e) {
        err.println("presence: " + e.getMessage());
        return PresenceCli.EXIT_STARTUP;
      }
    } else {
      assertion = assertion(config, err);
    }
    if (assertion.isEmpty()) {
      return PresenceCli.EXIT_USAGE;
    }
    URI ws = webSocket(base);
    Listener listener = new Listener(out);
    WebSocket socket;
    try {
      socket =
          HttpClient.newHttpClient()
              .newWebSocketBuilder()
              .connectTimeout(Duration.ofSeconds(10))
              .buildAsync(ws, listener)
              .get(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      err.println("presence: cannot connect to " + ws + ": " + rootMessage(e));
      return PresenceCli.EXIT_STARTUP;
    }
    send(socket, new Connect(assertion.get(), null, device));
    DeviceMessage first;
    try {
      first = listener.connected.get(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      first = new DeviceMessage.ErrorReply(0, "no answer: " + rootMessage(e));
    }
    if (!(first instanceof DeviceMessage.Connected c)) {
      err.println("presence: the node refused the session: " + describe(first));
      socket.abort();
      return PresenceCli.EXIT_STARTUP;
    }
    java.util.concurrent.ScheduledExecutorService refresher = null;
    if (pairing != null && c.expiresAt() > 0) {
      refresher =
          java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "identity-refresh");
                t.setDaemon(true);
                return t;
              });
      scheduleRefresh(refresher, pairing, socket, listener, err, c.expiresAt());
    }
    out.println(
        "connected to "
            + ws
            + " as "
            + (email != null ? email : "the token's user")
            + " (session "
            + c.sessionId()
            + ")");
    out.println(
        "type a status per line: online | away [message] | unavailable [message] | offline;"
            + " ack <id> or dismiss <id> to answer a notification; Ctrl-D to stop");
    out.flush();
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null && !listener.closed.isDone()) {
        String t = line.strip();
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
          listener.pending.incrementAndGet();
          send(
              socket,
              verb.equals("ack")
                  ? new DeviceMessage.Acknowledge(c.sessionId(), ids)
                  : new DeviceMessage.Dismiss(c.sessionId(), ids));
          continue;
        }
        Optional<PresenceStatus> status =
            PresenceStatus.fromWire(parts[0].toLowerCase(Locale.ROOT));
        if (status.isEmpty()) {
          err.println("not a status: " + parts[0] + " (online, away, unavailable or offline)");
          err.flush();
          continue;
        }
        listener.pending.incrementAndGet();
        send(
            socket,
            new StatusUpdate(
                c.sessionId(), status.get(), parts.length > 1 ? parts[1] : null, null));
      }
    } catch (IOException e) {
      err.println("presence: " + e.getMessage());
    }
    // Wait for the answers to what was sent before saying goodbye.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (listener.pending.get() > 0
        && !listener.closed.isDone()
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    if (!listener.closed.isDone()) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
      try {
        listener.closed.get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        socket.abort();
      }
    }
    if (refresher != null) {
      refresher.shutdownNow();
    }
    out.println("disconnected");
    out.flush();
    return 0;
  }

  /**
   * Sends a {@code refresh} with a new identity token when four fifths of the current one's
   * lifetime ({@code expiresAt}, epoch milliseconds) have passed; the answer's new expiry schedules
   * the next one.
   */
  private static void scheduleRefresh(
      java.util.concurrent.ScheduledExecutorService refresher,
      DevicePairing pairing,
      WebSocket socket,
      Listener listener,
      PrintWriter err,
      long expiresAt) {
    long delay = Math.max(100, (expiresAt - System.currentTimeMillis()) * 4 / 5);
    listener.onRefreshed = next -> scheduleRefresh(refresher, pairing, socket, listener, err, next);
    refresher.schedule(
        () -> {
          if (listener.closed.isDone()) {
            return;
          }
          try {
            String fresh = pairing.refresh().token();
            listener.pending.incrementAndGet();
            send(socket, new DeviceMessage.Refresh(fresh));
          } catch (IOException e) {
            synchronized (err) {
              err.println("presence: " + e.getMessage());
              err.flush();
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        },
        delay,
        TimeUnit.MILLISECONDS);
  }

  private Optional<String> assertion(PresenceConfig config, PrintWriter err) {
    if (token != null) {
      return Optional.of(token.trim());
    }
    if (email == null) {
      err.println("presence: give --email (for a development token) or --token");
      return Optional.empty();
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
        dev.mint(e, config.identity().devTokenLifetime(), config.identity().audience()));
  }

  private static URI webSocket(URI base) {
    String scheme =
        "https".equals(base.getScheme()) || "wss".equals(base.getScheme()) ? "wss" : "ws";
    String path = base.getPath() == null || base.getPath().equals("/") ? "" : base.getPath();
    return URI.create(scheme + "://" + base.getRawAuthority() + path + "/presence");
  }

  private static void send(WebSocket socket, DeviceMessage m) {
    // The statuses typed and the identity refreshes go out from two threads, one at a time.
    synchronized (socket) {
      socket.sendText(new String(DeviceCodec.toBytes(m), StandardCharsets.UTF_8), true).join();
    }
  }

  private static String describe(DeviceMessage m) {
    if (m instanceof DeviceMessage.ErrorReply e) {
      return "errno " + e.errno() + ": " + e.reason();
    }
    return String.valueOf(m);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** Prints what the node sends; the first answer completes {@link #connected}. */
  private static final class Listener implements WebSocket.Listener {
    final CompletableFuture<DeviceMessage> connected = new CompletableFuture<>();
    final CompletableFuture<Void> closed = new CompletableFuture<>();
    final AtomicInteger pending = new AtomicInteger();
    volatile java.util.function.LongConsumer onRefreshed;
    private final PrintWriter out;
    private final StringBuilder partial = new StringBuilder();

    Listener(PrintWriter out) {
      this.out = out;
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        frame(text);
      }
      ws.request(1);
      return null;
    }

    private void frame(String text) {
      DeviceMessage m;
      ByteBuf buf = Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8));
      try {
        m = DeviceCodec.decodeReply(buf);
      } catch (RuntimeException e) {
        m = null;
      } finally {
        buf.release();
      }
      if (!connected.isDone()) {
        connected.complete(m == null ? new DeviceMessage.ErrorReply(0, text) : m);
        return;
      }
      synchronized (out) {
        if (m instanceof DeviceMessage.Ack) {
          pending.decrementAndGet();
          out.println("ok");
        } else if (m instanceof DeviceMessage.Refreshed r) {
          pending.decrementAndGet();
          out.println("identity refreshed until " + java.time.Instant.ofEpochMilli(r.expiresAt()));
          java.util.function.LongConsumer next = onRefreshed;
          if (next != null) {
            next.accept(r.expiresAt());
          }
        } else if (m instanceof DeviceMessage.ErrorReply e) {
          pending.decrementAndGet();
          out.println("error " + e.errno() + ": " + e.reason());
        } else if (m instanceof DeviceMessage.Notifications n) {
          for (DeviceMessage.LiveNotification x : n.notifications()) {
            out.println(
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
        } else if (m instanceof DeviceMessage.Settings s) {
          out.println(
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
        } else {
          out.println("from the node: " + text);
        }
        out.flush();
      }
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
      synchronized (out) {
        out.println(
            "closed by the node (" + statusCode + (reason.isEmpty() ? "" : ": " + reason) + ")");
        out.flush();
      }
      connected.complete(new DeviceMessage.ErrorReply(statusCode, reason));
      closed.complete(null);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      connected.complete(new DeviceMessage.ErrorReply(0, error.toString()));
      closed.complete(null);
    }
  }
}
