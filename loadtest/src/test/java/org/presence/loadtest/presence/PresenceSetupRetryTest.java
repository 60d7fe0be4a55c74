package org.presence.loadtest.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.PresenceServer;
import org.presence.loadtest.EmbeddedNode;
import org.presence.loadtest.identity.TokenMinter;

/**
 * The set-up against a real embedded node behind a proxy that loses the answer to the first
 * registration and to the first grant (the node did the work; the connection closes before the
 * answer): both are sent again and the set-up completes with one application, not two (the
 * registration's {@code Idempotency-Key}), and every user's PUID.
 */
class PresenceSetupRetryTest {
  @TempDir Path dir;

  @Test
  void aRegistrationAndAGrantWhoseAnswersAreLost_areSentAgain_andMakeNothingTwice()
      throws Exception {
    Path data = dir.resolve("data");
    PresenceServer node = EmbeddedNode.start(EmbeddedNode.settings(data, "setup-retry"));
    try (LossyProxy proxy =
        new LossyProxy(node.address().getPort(), Set.of("POST /api/apps ", "POST /api/grants "))) {
      TokenMinter minter =
          new TokenMinter(
              TokenMinter.load(data.resolve("dev-identity.jwk")),
              "presence-dev",
              "presence",
              "dev:",
              Duration.ofHours(1));
      StringWriter out = new StringWriter();
      PresenceSetup.Setup setup =
          PresenceSetup.prepare(
              URI.create("http://127.0.0.1:" + proxy.port()),
              minter,
              1,
              3,
              dir.resolve("run"),
              new PrintWriter(out));

      assertThat(proxy.lost).containsExactlyInAnyOrder("POST /api/apps ", "POST /api/grants ");
      assertThat(setup.apps()).hasSize(1);
      assertThat(setup.puids()).hasSize(3).doesNotContainNull();
      long apps =
          node.store()
              .persistence()
              .db()
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery("SELECT COUNT(*) FROM apps WHERE owner_sub LIKE :o")
                          .bind("o", "%loadtest-dev-%")
                          .mapTo(Long.class)
                          .one());
      assertThat(apps).as("applications the node made").isEqualTo(1);
    } finally {
      node.close();
    }
  }

  /**
   * Relays loopback connections to the node; for each request line prefix in {@code lose}, the
   * first request that starts with it reaches the node, and its connection is closed when the
   * node's answer comes, before the answer reaches the client.
   */
  private static final class LossyProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final Set<String> lose;
    final Set<String> lost = ConcurrentHashMap.newKeySet();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    LossyProxy(int target, Set<String> lose) throws IOException {
      this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      this.target = target;
      this.lose = lose;
      threads.execute(this::accept);
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket client = server.accept();
          Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
          boolean[] dropNext = new boolean[1];
          threads.execute(() -> toNode(client, upstream, dropNext));
          threads.execute(() -> toClient(upstream, client, dropNext));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void toNode(Socket client, Socket upstream, boolean[] dropNext) {
      byte[] buf = new byte[16384];
      try (InputStream in = client.getInputStream()) {
        OutputStream o = upstream.getOutputStream();
        int n;
        while ((n = in.read(buf)) > 0) {
          String start = new String(buf, 0, Math.min(n, 40), StandardCharsets.ISO_8859_1);
          for (String line : List.copyOf(lose)) {
            if (start.startsWith(line) && lost.add(line)) {
              synchronized (dropNext) {
                dropNext[0] = true;
              }
            }
          }
          o.write(buf, 0, n);
          o.flush();
        }
      } catch (IOException e) {
        // closed
      } finally {
        closeBoth(client, upstream);
      }
    }

    private void toClient(Socket upstream, Socket client, boolean[] dropNext) {
      byte[] buf = new byte[16384];
      try (InputStream in = upstream.getInputStream()) {
        OutputStream o = client.getOutputStream();
        int n;
        while ((n = in.read(buf)) > 0) {
          synchronized (dropNext) {
            if (dropNext[0]) {
              return; // the answer is lost: the finally block closes both sides
            }
          }
          o.write(buf, 0, n);
          o.flush();
        }
      } catch (IOException e) {
        // closed
      } finally {
        closeBoth(client, upstream);
      }
    }

    private static void closeBoth(Socket a, Socket b) {
      try {
        a.close();
      } catch (IOException e) {
        // already closed
      }
      try {
        b.close();
      } catch (IOException e) {
        // already closed
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      threads.shutdownNow();
    }
  }
}
