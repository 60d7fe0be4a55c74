package org.presence.gateway.connection;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
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
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.metrics.PrometheusExporter;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.LogCapture;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * {@code gateway.max-pending-connections-per-address}, {@code max-connections-per-address} and
 * {@code connection-cap-exempt} on a node's gateway port, with real sockets from 127.0.0.1 (and
 * 127.0.0.2 as another client): a connection over a cap is closed at the accept, counted in {@code
 * presence.connections.refused.<cap>}, while other addresses and the connections already open are
 * served; a closed connection frees its slot, and an address whose connections are all closed
 * leaves the counts. {@code gateway.max-pending-connections} caps the pending ones of all addresses
 * together (127.0.0.2 to .5 as several clients).
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

  private int gauge(String name) {
    return ((Number) node.server().metrics().registry().getGauges().get(name).getValue())
        .intValue();
  }

  /** The node's Prometheus exposition, as {@code GET /metrics} on the admin port answers it. */
  private String scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new PrometheusExporter(node.server().metrics().registry()).write(out);
    return out.toString(StandardCharsets.UTF_8);
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

  /**
   * Opens {@code tries} connections from eight threads at once, thread {@code t} binding its
   * sockets to {@code source.apply(t)}; the sockets, held until the test ends.
   */
  private List<Socket> connectAtOnce(int tries, IntFunction<String> source) throws Exception {
    List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        String from = source.apply(t);
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < tries / 8; i++) {
                    Socket s = new Socket();
                    sockets.add(s);
                    s.bind(new InetSocketAddress(from, 0));
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
      opened.addAll(sockets);
    }
    return sockets;
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
    return statusLine(s.getInputStream());
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

  /**
   * Pending connections from several addresses, none near its own cap, fill the node's: the next is
   * closed at the accept whatever its address, while an authenticated session's socket is served;
   * once the pending ones close, connections are accepted again and the node's count is back at 0.
   */
  @Test
  void theNodeWidePendingCap_countsAllAddressesTogether_andGivesEachPlaceBack() throws Exception {
    start("gateway.max-pending-connections", "4");
    String token = node.token("node-cap@example.com");
    DeviceTestClient phone = DeviceTestClient.connected(node, token, null, "phone");
    opened.add(phone);
    await(() -> caps().open(ONE) == 1 && caps().pendingOnNode() == 0);

    List<Socket> pending = new ArrayList<>();
    for (String from : List.of("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.3")) {
      pending.add(connect(from));
    }
    await(() -> caps().pendingOnNode() == 4);
    assertThat(caps().addresses()).isEqualTo(4);
    // The operator sees the same counts in the node's metrics, before anything is refused.
    assertThat(gauge(AddressCaps.PENDING_GAUGE)).isEqualTo(4);
    assertThat(gauge(AddressCaps.ADDRESSES_GAUGE)).isEqualTo(4);
    assertThat(scrape())
        .contains("presence_connections_pending 4.0")
        .contains("presence_connections_addresses 4.0");

    // A new address and one already counted are refused alike, before anything is read; the
    // first refusal is logged at once, naming the node's cap.
    List<String> lines;
    try (LogCapture log = LogCapture.of(AddressCaps.class)) {
      assertThat(closedAtOnce(connect("127.0.0.5"))).isTrue();
      assertThat(closedAtOnce(connect("127.0.0.2"))).isTrue();
      lines = log.lines();
    }
    assertThat(lines)
        .singleElement()
        .asString()
        .startsWith("WARN connection from 127.0.0.5 refused: ")
        .contains("open on the node")
        .contains("(gateway.max-pending-connections 4)");
    assertThat(refused("node_pending")).isEqualTo(2);
    assertThat(refused("pending")).isZero();
    assertThat(caps().pendingOnNode()).isEqualTo(4);
    assertThat(caps().open(InetAddress.getByName("127.0.0.5"))).isZero();

    // The session goes on, and the pending connections already open are served.
    assertThat(phone.status(PresenceStatus.AWAY, "still here"))
        .isEqualTo(DeviceMessage.Ack.INSTANCE);
    assertThat(get(pending.get(0))).startsWith("HTTP/1.1 200 ");

    for (Socket s : pending) {
      s.close();
    }
    await(() -> caps().pendingOnNode() == 0 && caps().addresses() == 1);
    Socket again = connect("127.0.0.5");
    assertThat(get(again)).startsWith("HTTP/1.1 200 ");
    assertThat(caps().pendingOnNode()).isEqualTo(1);
    assertThat(refused("node_pending")).isEqualTo(2);

    again.close();
    phone.close();
    await(() -> caps().addresses() == 0);
    assertThat(caps().pendingOnNode()).isZero();
    assertThat(gauge(AddressCaps.PENDING_GAUGE)).isZero();
    assertThat(gauge(AddressCaps.ADDRESSES_GAUGE)).isZero();
  }

  @Test
  void concurrentConnects_onSeveralEventLoops_areCountedExactly() throws Exception {
    start("gateway.max-pending-connections-per-address", "40", "gateway.io-threads", "4");
    int tries = 160;
    List<Socket> sockets = connectAtOnce(tries, t -> "127.0.0.1");
    await(() -> caps().open(ONE) + refused("pending") == tries);
    assertThat(caps().open(ONE)).isEqualTo(40);
    assertThat(caps().pending(ONE)).isEqualTo(40);
    assertThat(caps().pendingOnNode()).isEqualTo(40);
    assertThat(refused("pending")).isEqualTo(tries - 40);

    for (Socket s : sockets) {
      s.close();
    }
    await(() -> caps().addresses() == 0);
    assertThat(caps().pendingOnNode()).isZero();
    assertThat(node.server().openConnections()).isZero();
  }

  @Test
  void concurrentConnects_fromSeveralAddresses_neverPassTheNodeCap() throws Exception {
    start("gateway.max-pending-connections", "40", "gateway.io-threads", "4");
    int tries = 160;
    List<Socket> sockets = connectAtOnce(tries, t -> "127.0.0." + (2 + t));
    await(() -> caps().pendingOnNode() + refused("node_pending") == tries);
    assertThat(caps().pendingOnNode()).isEqualTo(40);
    assertThat(refused("node_pending")).isEqualTo(tries - 40);
    assertThat(refused("pending")).isZero();

    for (Socket s : sockets) {
      s.close();
    }
    await(() -> caps().addresses() == 0);
    assertThat(caps().pendingOnNode()).isZero();
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
