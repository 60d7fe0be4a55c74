package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.presence.store.testing.Backends;

/**
 * The slixmpp client script ({@code xmpp/slixmpp_client.py}, run by Debian's {@code
 * /usr/bin/python3}) as an application: its JSON lines in a queue, its stdin for commands.
 */
final class SlixmppScript implements AutoCloseable {
  static final long WAIT = 20;
  static final String PYTHON = "/usr/bin/python3";

  private final Process process;
  private final Writer stdin;
  private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
  private final List<JsonNode> seen = new ArrayList<>();
  private final StringBuilder log = new StringBuilder();
  private final Thread reader;
  private final Thread errors;

  SlixmppScript(
      InetSocketAddress at, XmppFixture.App app, String resource, boolean directTls, Path ca)
      throws IOException {
    this(at, app, resource, directTls, ca, List.of());
  }

  /** {@code options}: more of the script's options ({@code --sm}). */
  SlixmppScript(
      InetSocketAddress at,
      XmppFixture.App app,
      String resource,
      boolean directTls,
      Path ca,
      List<String> options)
      throws IOException {
    Path script;
    try {
      script = Path.of(SlixmppScript.class.getResource("/xmpp/slixmpp_client.py").toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IOException(e);
    }
    List<String> command = new ArrayList<>();
    command.addAll(
        List.of(
            PYTHON,
            script.toString(),
            "--host",
            at.getAddress().getHostAddress(),
            "--port",
            String.valueOf(at.getPort()),
            "--jid",
            app.id() + "@" + XmppFixture.DOMAIN + "/" + resource,
            "--ca",
            ca.toString()));
    if (directTls) {
      command.add("--direct-tls");
    }
    command.addAll(options);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("PRESENCE_XMPP_PASSWORD", app.key());
    process = pb.start();
    stdin = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    reader =
        daemon(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  synchronized (log) {
                    log.append(line).append('\n');
                  }
                  try {
                    events.add(XmppFixture.JSON.readTree(line));
                  } catch (IOException notJson) {
                    // Kept in the log only.
                  }
                }
              } catch (IOException ended) {
                // The process ended.
              }
            });
    errors =
        daemon(
            () -> {
              try {
                String err =
                    new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                synchronized (log) {
                  log.append(err);
                }
              } catch (IOException ended) {
                // The process ended.
              }
            });
  }

  private static Thread daemon(Runnable r) {
    Thread t = new Thread(r, "slixmpp-script");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** The first event not taken yet that matches {@code what}, within {@link #WAIT} seconds. */
  JsonNode next(Predicate<JsonNode> what) throws InterruptedException {
    for (Iterator<JsonNode> i = seen.iterator(); i.hasNext(); ) {
      JsonNode e = i.next();
      if (what.test(e)) {
        i.remove();
        return e;
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (System.nanoTime() < deadline) {
      JsonNode e = events.poll(100, TimeUnit.MILLISECONDS);
      if (e == null) {
        continue;
      }
      if (what.test(e)) {
        return e;
      }
      seen.add(e);
    }
    throw new AssertionError("not seen within " + WAIT + " s; the script said:\n" + log());
  }

  JsonNode presence(String from) throws InterruptedException {
    return next(
        e -> e.path("event").asText().equals("presence") && e.path("from").asText().equals(from));
  }

  JsonNode rosterPush(String jid) throws InterruptedException {
    return next(
        e -> e.path("event").asText().equals("roster_push") && e.path("jid").asText().equals(jid));
  }

  void command(JsonNode c) throws IOException {
    stdin.write(c.toString() + "\n");
    stdin.flush();
  }

  int exit() throws InterruptedException {
    assertThat(process.waitFor(WAIT, TimeUnit.SECONDS)).as("the script ended").isTrue();
    return process.exitValue();
  }

  String log() {
    synchronized (log) {
      return log.toString();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
      reader.join(5000);
      errors.join(5000);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** Skips (or fails under bin/test-all) without slixmpp. */
  static void require() throws InterruptedException {
    boolean ok;
    try {
      Process p =
          new ProcessBuilder(PYTHON, "-c", "import slixmpp").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      ok = false;
    }
    if (!ok) {
      String message =
          "slixmpp is not installed (Debian: apt-get install python3-slixmpp; bin/backends"
              + " installs it): the slixmpp client test did not run";
      if (System.getenv(Backends.REQUIRE) != null) {
        fail(message);
      }
      assumeTrue(false, message);
    }
  }
}
