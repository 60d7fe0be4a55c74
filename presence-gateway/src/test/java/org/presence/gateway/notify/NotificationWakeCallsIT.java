package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.NotifyFixture.ack;
import static org.presence.gateway.testing.NotifyFixture.batch;
import static org.presence.gateway.testing.NotifyFixture.item;
import static org.presence.gateway.testing.NotifyFixture.post;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.store.testing.Backends;

/**
 * What a batch of 10 notifications costs in calls to one Redis (issue 13, section 1): node b, which
 * the batch is posted to, makes one script call that stores the items, reads the recipients'
 * presence hashes and publishes node a's wake-up; the node used to send an {@code HGETALL} per
 * recipient and a {@code PUBLISH} of its own after the enqueue call. Seen with {@code MONITOR},
 * which tells the commands a client sent from those a script ran ({@code [0 lua]}).
 */
class NotificationWakeCallsIT {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;
  private static DomainStub site;

  @BeforeAll
  static void start() {
    site = DomainStub.start();
    cluster =
        TestCluster.create(
            NotificationWakeCallsIT.class,
            root,
            "notify-calls",
            NotificationsContract.notifySettings());
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, cluster, site}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
    }
  }

  /** MONITOR lines of one Redis, read on a thread of their own until closed. */
  private static final class Monitor implements AutoCloseable {
    final List<String> lines = new CopyOnWriteArrayList<>();
    private final Socket socket;
    private final Thread reader;

    Monitor(String redisUrl) throws Exception {
      URI u = URI.create(redisUrl);
      socket = new Socket(u.getHost(), u.getPort());
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      if (!"+OK".equals(in.readLine())) {
        throw new IllegalStateException("MONITOR refused");
      }
      reader =
          new Thread(
              () -> {
                try {
                  for (String l; (l = in.readLine()) != null; ) {
                    lines.add(l);
                  }
                } catch (Exception e) {
                  // closed
                }
              },
              "monitor");
      reader.setDaemon(true);
      reader.start();
    }

    /**
     * Lines of {@code command} on a key or channel of {@code prefix}: by a client, or in a script.
     */
    long count(String command, String prefix, boolean inScript) {
      return lines.stream()
          .filter(l -> l.contains("] \"" + command + "\" ") && l.contains(prefix))
          .filter(l -> l.contains(" [0 lua] ") == inScript)
          .count();
    }

    @Override
    public void close() throws java.io.IOException {
      socket.close();
      try {
        reader.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Test
  void batchOfTen_toDevicesOnAnotherNode_isOneScriptCall_noHgetallPerRecipient() throws Exception {
    String redisUrl = Backends.redisUrl();
    NotifyFixture.App app =
        NotifyFixture.activeApp(b, site, "dev-" + UUID.randomUUID() + "@example.com", "Calls");
    List<String> puids = new ArrayList<>();
    List<DeviceTestClient> devices = new ArrayList<>();
    try {
      for (int i = 0; i < 10; i++) {
        String email = "calls-" + i + "-" + UUID.randomUUID() + "@example.com";
        puids.add(NotifyFixture.grant(b, email, app.id()));
        devices.add(DeviceTestClient.connected(a, a.token(email), null, "phone"));
      }
      List<String> items = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        items.add(item(puids.get(i), "m" + i));
      }
      String prefix = cluster.prefix();
      try (Monitor m = new Monitor(redisUrl)) {
        assertThat(ack(post(b, app.id(), app.key(), batch(items.toArray(String[]::new)))).stored())
            .isEqualTo(10);
        for (int i = 0; i < 10; i++) {
          List<LiveNotification> got = devices.get(i).notifications(1);
          assertThat(got).extracting(LiveNotification::message).containsExactly("m" + i);
        }
        // Every presence hash read and the wake-up are inside the one script call.
        assertThat(m.count("HGETALL", prefix + "pres:", false)).isZero();
        assertThat(m.count("PUBLISH", prefix + "ch:{notifications.node.", false)).isZero();
        assertThat(m.count("HGETALL", prefix + "pres:", true)).isEqualTo(10);
        assertThat(m.count("RPUSH", prefix + "nq:", true)).isEqualTo(10);
        assertThat(m.count("PUBLISH", prefix + "ch:{notifications.node.", true)).isEqualTo(1);
        // The one call with both the queues and the presence hashes among its keys (the others
        // with queue keys are node a's removals of what it delivered).
        assertThat(
                m.lines.stream()
                    .filter(l -> l.contains("] \"EVALSHA\" ") && !l.contains(" [0 lua] "))
                    .filter(l -> l.contains(prefix + "nq:") && l.contains(prefix + "pres:")))
            .hasSize(1);
      }
    } finally {
      for (DeviceTestClient d : devices) {
        d.close();
      }
    }
  }
}
