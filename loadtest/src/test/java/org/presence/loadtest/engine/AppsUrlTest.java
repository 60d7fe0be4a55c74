package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.presence.PresenceSetup;
import org.presence.loadtest.presence.PresenceTarget;
import org.presence.loadtest.targets.DeviceIdentity;
import org.presence.loadtest.targets.Inbound;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;

/**
 * {@code --apps-url}: with two "nodes" (plain HTTP servers that log what reaches them), the devices
 * go to {@code --url} and the application side (update channel, notification posts) to {@code
 * --apps-url}, also after the plan has been through {@code plan.json} as injector processes read
 * it. Without the option both sides go to {@code --url}.
 */
class AppsUrlTest {
  @TempDir Path dir;

  private Node a;
  private Node b;
  private EventLoopGroup loops;

  /** A server that answers every request 404 and remembers "METHOD path". */
  private static final class Node implements AutoCloseable {
    final HttpServer server;
    final Queue<String> seen = new ConcurrentLinkedQueue<>();

    Node() throws Exception {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      server.createContext(
          "/",
          ex -> {
            seen.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath());
            byte[] body =
                "{\"errno\":999,\"reason\":\"test node\"}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(404, body.length);
            try (OutputStream o = ex.getResponseBody()) {
              o.write(body);
            }
          });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  private static final class Ignore implements Inbound {
    @Override
    public void frame(ByteBuf utf8) {}

    @Override
    public void closed(boolean byServer, String reason) {}
  }

  @BeforeEach
  void start() throws Exception {
    a = new Node();
    b = new Node();
    loops = Transport.best().group(1, "apps-url-test");
    // What the coordinator's setup leaves for the clients: app 0 is application 7, user 0's PUID.
    Files.writeString(
        dir.resolve(PresenceSetup.FILE),
        "{\"apps\":[{\"id\":7,\"key\":\"k7\"}],\"puids\":[\"p0\"]}");
  }

  @AfterEach
  void stop() throws Exception {
    a.close();
    b.close();
    Transport.shutDown(loops, Duration.ofSeconds(1)).sync();
  }

  private LoadConfig config(String url, String appsUrl) {
    return new LoadConfig(
        "status-fanout",
        "presence",
        url,
        appsUrl,
        null,
        1L,
        1,
        "1s",
        null,
        "1s",
        "100ms",
        null,
        null,
        1,
        0,
        1,
        null,
        0,
        null,
        "presence-dev",
        "presence",
        "dev:",
        null,
        dir.toString(),
        5,
        null,
        null,
        null,
        "2s",
        null,
        null,
        null);
  }

  /** Opens a device, subscribes an app and posts once through the target; each fails on the 404. */
  private static void touchEverySide(Target t, EventLoop loop) {
    settle(
        t.devices()
            .orElseThrow()
            .newDevice(loop, new Ignore())
            .connect(new DeviceIdentity(0, "d0", "token", 0)));
    settle(t.apps().orElseThrow().newApp(loop, new Ignore()).subscribe(0));
    settle(t.notifications().orElseThrow().post(loop, 0, List.of(0L), "m"));
  }

  private static void settle(java.util.concurrent.CompletionStage<?> stage) {
    CompletableFuture<?> f = stage.toCompletableFuture();
    try {
      f.get(10, TimeUnit.SECONDS);
    } catch (Exception expected) {
      // The test nodes refuse everything; only where the request went matters.
    }
  }

  @Test
  void appsUrl_sendsTheApplicationSideToTheOtherNode_devicesStay() throws Exception {
    LoadConfig written = config(a.url(), b.url());
    written.write(dir.resolve("plan.json"));
    LoadConfig c = LoadConfig.read(dir.resolve("plan.json"));
    assertThat(c.appsUrl()).isEqualTo(b.url());
    assertThat(c.appsUrlOrUrl()).isEqualTo(b.url());

    Target t = Plan.target(c, SourceAddresses.parse(""));
    assertThat(t.baseUrl()).isEqualTo(URI.create(a.url()));
    // The setup (PresenceTarget.prepare) registers and grants the applications there too.
    assertThat(((PresenceTarget) t).appsUrl()).isEqualTo(URI.create(b.url()));
    touchEverySide(t, loops.next());

    assertThat(a.seen).containsExactly("GET /presence");
    assertThat(b.seen).containsExactlyInAnyOrder("GET /7", "POST /7/notification");
  }

  @Test
  void withoutAppsUrl_everythingGoesToUrl() throws Exception {
    LoadConfig c = config(a.url(), null);
    assertThat(c.appsUrlOrUrl()).isEqualTo(a.url());

    touchEverySide(Plan.target(c, SourceAddresses.parse("")), loops.next());

    assertThat(a.seen).containsExactlyInAnyOrder("GET /presence", "GET /7", "POST /7/notification");
    assertThat(b.seen).isEmpty();
  }
}
