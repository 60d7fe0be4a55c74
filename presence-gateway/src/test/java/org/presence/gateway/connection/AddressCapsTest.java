package org.presence.gateway.connection;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;

/**
 * {@code gateway.max-pending-connections-per-address}, {@code max-connections-per-address} and
 * {@code connection-cap-exempt} on a node's gateway port, with real sockets from 127.0.0.1 (and
 * 127.0.0.2 as another client): a connection over a cap is closed at the accept, counted in {@code
 * presence.connections.refused.<cap>}, while other addresses and the connections already open are
 * served; a closed connection frees its slot, and an address whose connections are all closed
 * leaves the counts.
 */
class AddressCapsTest {
  private static final InetAddress ONE = InetAddress.getLoopbackAddress();

  @TempDir Path dataDir;
  private TestNode node;
  private final List<AutoCloseable> opened = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : opened) {
      c.close();
    }
    if (node != null) {
      node.close();
    }
  }

  /** A node with loopback not exempt, and {@code more} settings. */
  private void start(String... more) {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("gateway.connection-cap-exempt", "[]");
    s.put("gateway.http-header-timeout", "60s");
    s.put("gateway.http-idle-timeout", "60s");
    for (int i = 0; i < more.length; i += 2) {
      s.put(more[i], more[i + 1]);
    }
    node = TestNode.start(s, r -> {});
  }

  private AddressCaps caps() {
    return node.server().connections().addressCaps();
  }

  private long refused(String cap) {
    return node.server()
        .metrics()
        .registry()
        .counter("presence.connections.refused." + cap)
        .getCount();
  }

  private Socket connect(String source) throws IOException {
    Socket s = new Socket();
    opened.add(s);
    s.bind(new InetSocketAddress(source, 0));
    s.connect(node.server().address(), 5_000);
    return s;
  }

  /** A socket from 127.0.0.1 that the node counted. */
  private Socket counted() throws IOException {
    int before = caps().open(ONE);
    Socket s = connect("127.0.0.1");
    await(() -> caps().open(ONE) == before + 1);
    return s;
  }

  /** Whether the node closed {@code s} without a byte (else it answers a request on it). */
  private static boolean closedAtOnce(Socket s) throws IOException {
    s.setSoTimeout(5_000);
    try {
      return s.getInputStream().read() == -1;
    } catch (SocketException reset) {
      return true;
    } catch (SocketTimeoutException open) {
      return false;
    }
  }

  private static String statusLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b != -1 && b != '\r'; b = in.read()) {
      line.append((char) b);
    }
    return line.toString();
  }

  /** The status line of {@code GET /__version__} on {@code s}. */
  private static String get(Socket s) throws IOException {
    s.setSoTimeout(5_000);
    s.getOutputStream()
        .write("GET /__version__ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    InputStream in = s.getInputStream();
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b != -1 && b != '\r'; b = in.read()) {
      line.append((char) b);
    }
    return line.toString();
  }

  private static void await(BooleanSupplier condition) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s");
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /**
   * An application's update socket leaves its address's pending count once its key is accepted, and
   * an update stream once it is admitted (its 200 sent): both stay counted as open.
   */
  @Test
  void anUpdateSocketOrStream_leavesThePendingCountOnceAdmitted() throws Exception {
    start("identity.dev-signing", "true");
    try (DomainStub site = DomainStub.start()) {
      NotifyFixture.App app = NotifyFixture.activeApp(node, site, "dev@example.com", "capped");
      int open0 = caps().open(ONE);
      int pending0 = caps().pending(ONE);

      UpdateClient socket = UpdateClient.open(node, app.id());
      opened.add(socket);
      await(() -> caps().open(ONE) == open0 + 1 && caps().pending(ONE) == pending0 + 1);
      socket.sendKey(app.key(), -1);
      assertThat(socket.next().path("result").asBoolean()).isTrue();
      await(() -> caps().open(ONE) == open0 + 1 && caps().pending(ONE) == pending0);

      Socket stream = connect("127.0.0.1");
      stream.setSoTimeout(5_000);
      stream
          .getOutputStream()
          .write(
              ("GET /"
                      + app.id()
                      + "/presence.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + app.key()
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      assertThat(statusLine(stream.getInputStream())).startsWith("HTTP/1.1 200");
      await(() -> caps().open(ONE) == open0 + 2 && caps().pending(ONE) == pending0);
    }
  }

  @Test
  void overThePendingCap_isClosedAtTheAccept_whileOthersAreServed() throws Exception {
    start("gateway.max-pending-connections-per-address", "3");
    Socket first = counted();
    counted();
    counted();

    Socket over = connect("127.0.0.1");
    assertThat(closedAtOnce(over)).isTrue();
    assertThat(refused("pending")).isEqualTo(1);
    assertThat(caps().open(ONE)).isEqualTo(3);

    // Another address, and the connections already open, are served.
    assertThat(get(connect("127.0.0.2"))).startsWith("HTTP/1.1 200 ");
    assertThat(get(first)).startsWith("HTTP/1.1 200 ");
    assertThat(refused("pending")).isEqualTo(1);
    assertThat(refused("open")).isZero();
  }

  @Test
  void closingAConnection_freesItsSlot_andTheAddressLeavesTheCountsWhenAllAreClosed()
      throws Exception {
    start("gateway.max-pending-connections-per-address", "2");
    Socket a = counted();
    Socket b = counted();
    assertThat(closedAtOnce(connect("127.0.0.1"))).isTrue();

    a.close();
    await(() -> caps().open(ONE) == 1);
    Socket c = counted();
    assertThat(get(c)).startsWith("HTTP/1.1 200 ");
    assertThat(caps().addresses()).isEqualTo(1);

    b.close();
    c.close();
    await(() -> caps().addresses() == 0);
    assertThat(caps().open(ONE)).isZero();
    assertThat(caps().pending(ONE)).isZero();
  }

  @Test
  void anAuthenticatedDeviceSession_leavesThePendingCount_butCountsTowardTheOverallCap()
      throws Exception {
    start(
        "gateway.max-pending-connections-per-address", "2",
        "gateway.max-connections-per-address", "4");
    String token = node.token("caps@example.com");
    DeviceTestClient phone = DeviceTestClient.connected(node, token, null, "phone");
    opened.add(phone);
    await(() -> caps().open(ONE) == 1 && caps().pending(ONE) == 0);

    Socket a = counted();
    counted();
    assertThat(caps().pending(ONE)).isEqualTo(2);
    assertThat(closedAtOnce(connect("127.0.0.1"))).isTrue();
    assertThat(refused("pending")).isEqualTo(1);

    a.close();
    await(() -> caps().open(ONE) == 2);
    DeviceTestClient laptop = DeviceTestClient.connected(node, token, null, "laptop");
    opened.add(laptop);
    await(() -> caps().open(ONE) == 3 && caps().pending(ONE) == 1);
    counted();
    // Four open (two sessions, two pending): the overall cap refuses the next.
    assertThat(closedAtOnce(connect("127.0.0.1"))).isTrue();
    assertThat(refused("open")).isEqualTo(1);
    assertThat(refused("pending")).isEqualTo(1);

    for (AutoCloseable c : opened) {
      c.close();
    }
    opened.clear();
    await(() -> caps().addresses() == 0);
  }

  @Test
  void concurrentConnects_onSeveralEventLoops_areCountedExactly() throws Exception {
    start("gateway.max-pending-connections-per-address", "40", "gateway.io-threads", "4");
    int tries = 160;
    List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < tries / 8; i++) {
                    Socket s = new Socket();
                    sockets.add(s);
                    s.connect(node.server().address(), 5_000);
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    opened.addAll(sockets);
    await(() -> caps().open(ONE) + refused("pending") == tries);
    assertThat(caps().open(ONE)).isEqualTo(40);
    assertThat(caps().pending(ONE)).isEqualTo(40);
    assertThat(refused("pending")).isEqualTo(tries - 40);

    for (Socket s : sockets) {
      s.close();
    }
    await(() -> caps().addresses() == 0);
    assertThat(node.server().openConnections()).isZero();
  }

  @Test
  void loopbackIsExemptByDefault_andTrustedProxiesAreNeverCounted() throws Exception {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("gateway.max-pending-connections-per-address", "1");
    node = TestNode.start(s, r -> {});
    assertThat(get(connect("127.0.0.1"))).startsWith("HTTP/1.1 200 ");
    assertThat(get(connect("127.0.0.1"))).startsWith("HTTP/1.1 200 ");
    assertThat(caps().addresses()).isZero();
    node.close();

    start(
        "gateway.max-pending-connections-per-address", "1",
        "gateway.trusted-proxies", "127.0.0.1");
    assertThat(get(connect("127.0.0.1"))).startsWith("HTTP/1.1 200 ");
    assertThat(get(connect("127.0.0.1"))).startsWith("HTTP/1.1 200 ");
    assertThat(caps().addresses()).isZero();
    // 127.0.0.2 is no proxy: it is counted.
    connect("127.0.0.2");
    await(() -> caps().addresses() == 1);
    assertThat(closedAtOnce(connect("127.0.0.2"))).isTrue();
  }
}
