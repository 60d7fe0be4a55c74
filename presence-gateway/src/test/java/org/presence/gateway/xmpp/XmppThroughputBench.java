package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WsClient;
import org.presence.protocol.model.PresenceStatus;

/**
 * BENCHMARKS.md's XMPP figure: presence stanzas per second to an XMPP-connected application next to
 * the update channel's updates per second, in the same run on one embedded node. Not part of the
 * suite (its name is not a test's): run it with {@code mvn -pl presence-gateway -am verify
 * -Dtest=XmppThroughputBench -Dsurefire.failIfNoSpecifiedTests=false} and read its last lines.
 *
 * <p>{@code DEVICES} users (system property {@code bench.devices}, 40) each grant two applications,
 * W on the update channel (one WebSocket, frames counted by their {@code "UID"}s) and X over XMPP
 * (one STARTTLS session with its initial presence, counted by {@code <presence }), and each has a
 * device that sends a status (alternating online and away, so every send is one update per
 * application) as fast as its acknowledgements come, for {@code bench.seconds} (20). Both
 * applications get every update; the figures are what each received per second while the devices
 * sent, and how long after the last acknowledgement each had them all.
 */
class XmppThroughputBench {
  @TempDir Path dataDir;

  @Test
  void presenceStanzasPerSecond_nextToTheUpdateChannel() throws Exception {
    int devices = Integer.getInteger("bench.devices", 40);
    int seconds = Integer.getInteger("bench.seconds", 20);
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).strip();
    try (TestNode node =
            XmppFixture.node(
                dataDir,
                Map.of(
                    "device.rate", "100000",
                    "device.burst", "100000",
                    "device.overdraft", "100000",
                    "logging.level", "WARN",
                    "gateway.unwritable-timeout", "120s"));
        XmppFixture fx = new XmppFixture()) {
      XmppFixture.App w = fx.activeApp(node, "BenchW");
      XmppFixture.App x = fx.activeApp(node, "BenchX");
      List<DeviceTestClient> ds = new ArrayList<>();
      for (int i = 0; i < devices; i++) {
        String email = fx.email("bench" + i);
        fx.grant(node, email, w);
        fx.grant(node, email, x);
        DeviceTestClient d = XmppFixture.device(node, email, "phone");
        XmppFixture.status(d, PresenceStatus.ONLINE, "start");
        ds.add(d);
      }

      WsClient ws = WsClient.connect(node.wsUri("/" + w.id()));
      ws.send("{\"key\":\"" + w.key() + "\"}");
      assertThat(ws.next(Duration.ofSeconds(10))).contains("\"result\":true");
      AtomicLong wsUpdates = new AtomicLong();
      AtomicLong wsSnapshot = new AtomicLong(-1);
      AtomicLong wsLastSeq = new AtomicLong(-1);
      Thread wsReader =
          reader(
              () -> {
                while (!Thread.currentThread().isInterrupted()) {
                  String f = ws.next(Duration.ofMillis(200));
                  if (f == null) {
                    continue;
                  }
                  long n = count(f, "\"UID\"");
                  if (f.contains("\"snapshot\"")) {
                    wsSnapshot.compareAndSet(-1, 0);
                    continue;
                  }
                  wsUpdates.addAndGet(n);
                  int at = f.lastIndexOf("\"seq\":");
                  if (at >= 0) {
                    int e = at + 6;
                    while (e < f.length() && Character.isDigit(f.charAt(e))) {
                      e++;
                    }
                    wsLastSeq.set(Long.parseLong(f.substring(at + 6, e)));
                  }
                }
                return null;
              });

      RawXmpp xmpp = RawXmpp.connect(node.server().xmppAddress().getPort()).login(x.id(), x.key());
      xmpp.send("<presence/>");
      // The snapshot: one presence per user.
      for (int i = 0; i < devices; i++) {
        xmpp.await("</presence>");
      }
      AtomicLong xmppStanzas = new AtomicLong();
      java.net.Socket socket = xmpp.socket();
      socket.setSoTimeout(200);
      Thread xmppReader = presenceCounter(socket, xmppStanzas);
      Thread.sleep(500);
      long wsBase = wsUpdates.get();
      long xmppBase = xmppStanzas.get();

      long start = System.nanoTime();
      long total = send(ds, seconds, Long.MAX_VALUE);
      long sentAt = System.nanoTime();
      long wsAtEnd = wsUpdates.get() - wsBase;
      long xmppAtEnd = xmppStanzas.get() - xmppBase;
      long wsDone = -1;
      long xmppDone = -1;
      long deadline = sentAt + TimeUnit.SECONDS.toNanos(120);
      while ((wsDone < 0 || xmppDone < 0) && System.nanoTime() < deadline) {
        if (wsDone < 0 && wsUpdates.get() - wsBase >= total) {
          wsDone = System.nanoTime() - sentAt;
        }
        if (xmppDone < 0 && xmppStanzas.get() - xmppBase >= total) {
          xmppDone = System.nanoTime() - sentAt;
        }
        Thread.sleep(5);
      }
      double window = (sentAt - start) / 1e9;
      String loadAfter = Files.readString(Path.of("/proc/loadavg")).strip();
      System.out.printf(
          "%nXMPP BENCH: %d devices, %.1f s, load before %s, after %s%n"
              + "XMPP BENCH: statuses sent (one update per app each): %d, %.0f/s%n"
              + "XMPP BENCH: update channel: %d updates while sending, %.0f/s; all %d after %s ms%n"
              + "XMPP BENCH: xmpp: %d presence stanzas while sending, %.0f/s; all %d after %s ms%n",
          devices,
          window,
          loadBefore,
          loadAfter,
          total,
          total / window,
          wsAtEnd,
          wsAtEnd / window,
          total,
          wsDone < 0 ? "(not within 120 s)" : String.valueOf(wsDone / 1_000_000),
          xmppAtEnd,
          xmppAtEnd / window,
          total,
          xmppDone < 0 ? "(not within 120 s)" : String.valueOf(xmppDone / 1_000_000));
      wsReader.interrupt();
      xmppReader.interrupt();
      wsReader.join(2000);
      xmppReader.join(2000);
      ws.close();
      xmpp.close();
      assertThat(xmppStanzas.get() - xmppBase).as("every update reached XMPP").isEqualTo(total);
      assertThat(wsUpdates.get() - wsBase).as("every update reached the channel").isEqualTo(total);

      // Catch-up: both applications away while the devices send, then back at once, reading the
      // backlog from the update log (the channel with since, XMPP by resuming its stream).
      long since = wsLastSeq.get();
      RawXmpp x2 = RawXmpp.connect(node.server().xmppAddress().getPort()).login(x.id(), x.key());
      x2.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/><presence/>");
      String enabled = x2.await("/>");
      String id = enabled.replaceAll("(?s).*<enabled[^>]* id='([^']*)'.*", "$1");
      for (int i = 0; i < devices; i++) {
        x2.await("</presence>");
      }
      x2.send("<a xmlns='urn:xmpp:sm:3' h='" + devices + "'/>");
      Thread.sleep(200);
      x2.close();
      Thread.sleep(500);
      // Below what the update log keeps per application (100 000).
      long backlog = send(ds, 60, Long.getLong("bench.backlog", 50_000));

      long back = System.nanoTime();
      WsClient ws2 = WsClient.connect(node.wsUri("/" + w.id()));
      ws2.send("{\"key\":\"" + w.key() + "\",\"since\":" + since + "}");
      AtomicLong ws2Updates = new AtomicLong();
      Thread ws2Reader =
          reader(
              () -> {
                while (!Thread.currentThread().isInterrupted()) {
                  String f = ws2.next(Duration.ofMillis(200));
                  if (f != null) {
                    ws2Updates.addAndGet(count(f, "\"UID\""));
                  }
                }
                return null;
              });
      RawXmpp y = RawXmpp.connect(node.server().xmppAddress().getPort()).startTls();
      assertThat(y.auth(String.valueOf(x.id()), x.key())).contains("<success");
      y.send(RawXmpp.HEADER);
      y.await("</stream:features>");
      y.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='" + devices + "'/>");
      java.net.Socket ys = y.socket();
      ys.setSoTimeout(200);
      AtomicLong yStanzas = new AtomicLong();
      Thread yReader = presenceCounter(ys, yStanzas);
      long wsBack = -1;
      long xmppBack = -1;
      long limit = back + TimeUnit.SECONDS.toNanos(120);
      while ((wsBack < 0 || xmppBack < 0) && System.nanoTime() < limit) {
        if (wsBack < 0 && ws2Updates.get() >= backlog) {
          wsBack = System.nanoTime() - back;
        }
        if (xmppBack < 0 && yStanzas.get() >= backlog) {
          xmppBack = System.nanoTime() - back;
        }
        Thread.sleep(2);
      }
      System.out.printf(
          "XMPP BENCH: catch-up of %d updates, load %s:%n"
              + "XMPP BENCH: update channel (since): %d in %d ms, %.0f/s%n"
              + "XMPP BENCH: xmpp (resume): %d in %d ms, %.0f/s%n",
          backlog,
          Files.readString(Path.of("/proc/loadavg")).strip(),
          ws2Updates.get(),
          wsBack / 1_000_000,
          backlog / (wsBack / 1e9),
          yStanzas.get(),
          xmppBack / 1_000_000,
          backlog / (xmppBack / 1e9));
      ws2Reader.interrupt();
      yReader.interrupt();
      ws2Reader.join(2000);
      yReader.join(2000);
      ws2.close();
      y.close();
      for (DeviceTestClient d : ds) {
        d.close();
      }
      assertThat(wsBack).as("the channel caught up").isPositive();
      assertThat(xmppBack).as("xmpp caught up").isPositive();
    }
  }

  /**
   * Each device sends statuses as fast as acknowledged for {@code seconds}, all together at most
   * {@code max}; returns how many.
   */
  private static final Map<DeviceTestClient, Boolean> AWAY =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static long send(List<DeviceTestClient> ds, int seconds, long max)
      throws InterruptedException {
    AtomicLong sent = new AtomicLong();
    AtomicLong done = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Thread> senders = new ArrayList<>();
    for (DeviceTestClient d : ds) {
      senders.add(
          reader(
              () -> {
                while (System.nanoTime() < end && sent.getAndIncrement() < max) {
                  // Online and away in turn (from "online" at the start): each send is a change.
                  boolean away = AWAY.merge(d, true, (a, b) -> !a);
                  d.status(away ? PresenceStatus.AWAY : PresenceStatus.ONLINE, "");
                  done.incrementAndGet();
                }
                return null;
              }));
    }
    for (Thread t : senders) {
      t.join();
    }
    return done.get();
  }

  /** Counts {@code <presence } in what {@code socket} receives. */
  private static Thread presenceCounter(java.net.Socket socket, AtomicLong counter) {
    return reader(
        () -> {
          InputStream in = socket.getInputStream();
          byte[] buf = new byte[64 * 1024];
          String carry = "";
          while (!Thread.currentThread().isInterrupted()) {
            int n;
            try {
              n = in.read(buf);
            } catch (java.net.SocketTimeoutException e) {
              continue;
            }
            if (n < 0) {
              break;
            }
            String s = carry + new String(buf, 0, n, StandardCharsets.UTF_8);
            counter.addAndGet(count(s, "<presence "));
            // A "<presence " cut at the end is counted in the next read.
            carry = s.substring(Math.max(0, s.length() - 9));
          }
          return null;
        });
  }

  private interface Body {
    Void run() throws Exception;
  }

  private static Thread reader(Body body) {
    Thread t =
        new Thread(
            () -> {
              try {
                body.run();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            },
            "bench");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static long count(String s, String needle) {
    long n = 0;
    for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length())) {
      n++;
    }
    return n;
  }
}
