package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.error.ErrorCode;

/**
 * Clients that send without reading, over real sockets to an in-process node: a stream of pings
 * holds no memory on the node (reads pause while a socket is unwritable, and a socket unwritable
 * past {@code gateway.unwritable-timeout} is closed with −6); pings count in the rate bucket before
 * the session is open; and a session the node ends while the client is still sending still delivers
 * its answers, in request order, then the errno and the close code.
 */
class ChannelFloodTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the flood tests send: 50 MB of pings. */
  private static final long FLOOD_BYTES = 50L * 1024 * 1024;

  /**
   * How much direct memory the node may hold for one socket that streams 50 MB of pings at it
   * without reading (docs/device-protocol.md: the write buffer, the read buffers, the pongs of the
   * last read), measured on that socket's own buffers ({@link #socketAllocator}).
   */
  private static final long MEMORY_BOUND = 8L * 1024 * 1024;

  @TempDir static Path root;

  /** A node whose buckets let pings through: only backpressure stands in a flood's way. */
  private static TestNode open;

  /** A node with the default per-socket buckets. */
  private static TestNode limited;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(root.resolve("open"));
    s.put("identity.dev-signing", "true");
    s.put("device.handshake-rate", "0");
    s.put("device.rate", "10000000");
    s.put("device.burst", "10000000");
    s.put("device.overdraft", "10000000");
    s.put("device.connect-timeout", "60s");
    s.put("updates.key-timeout", "60s");
    s.put("updates.frame-rate", "10000000");
    s.put("updates.frame-burst", "10000000");
    s.put("updates.frame-overdraft", "10000000");
    s.put("gateway.unwritable-timeout", "1s");
    s.put("gateway.close-linger", "15s");
    open = TestNode.start(s, r -> {});
    Map<String, String> d = TestNode.baseSettings(root.resolve("limited"));
    d.put("identity.dev-signing", "true");
    d.put("device.handshake-rate", "0");
    limited = TestNode.start(d, r -> {});
  }

  @AfterAll
  static void stop() {
    if (open != null) {
      open.close();
    }
    if (limited != null) {
      limited.close();
    }
  }

  /**
   * From now on the node allocates the buffers of {@code ws}'s socket from an allocator of that
   * socket's own; returns its metric: the direct memory the node holds for this one socket, buffer
   * by buffer (an unpooled allocator counts the live buffers). The JVM's shared allocator is no
   * measure of that: Netty 4.2's adaptive allocator holds memory in chunks per thread and adds
   * chunks when threads contend, which a loaded machine makes happen at any time.
   */
  private static ByteBufAllocatorMetric socketAllocator(TestNode node, RawWebSocket ws)
      throws Exception {
    Channel ch = node.server().connections().find(ws.localAddress());
    assertThat(ch).as("the node's end of the socket").isNotNull();
    UnpooledByteBufAllocator own = new UnpooledByteBufAllocator(true);
    ch.eventLoop().submit(() -> ch.config().setAllocator(own)).get(10, TimeUnit.SECONDS);
    return own.metric();
  }

  private static long errors(TestNode node, ErrorCode code) {
    return node.server()
        .metrics()
        .registry()
        .counter("presence.errors." + code.errno() + "." + code.metricLabel())
        .getCount();
  }

  /** {@code count} masked frames of {@code opcode}, in one array to be sent in one write. */
  private static byte[] frames(int opcode, byte[] payload, int count) {
    Random random = new Random(7);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < count; i++) {
      out.writeBytes(RawWebSocket.frame(opcode, true, payload, random));
    }
    return out.toByteArray();
  }

  private static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** What the node wrote after a flood: the pongs, the text frames, the close code. */
  private record Received(int pongs, List<String> texts, int closeCode) {}

  /** Reads until the node's close frame (or nothing more comes). */
  private static Received readUntilClose(RawWebSocket ws) throws IOException {
    int pongs = 0;
    List<String> texts = new ArrayList<>();
    while (true) {
      RawWebSocket.Frame f = ws.read(WAIT);
      if (f == null) {
        return new Received(pongs, texts, 1006);
      }
      switch (f.opcode()) {
        case RawWebSocket.PONG -> pongs++;
        case RawWebSocket.TEXT -> texts.add(f.text());
        case RawWebSocket.CLOSE -> {
          return new Received(pongs, texts, f.closeCode());
        }
        default -> {}
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Floods of pings

  @Test
  void pingFlood_onPresenceBeforeConnect_holdsNoMemory_thenClosedWithSlowConsumer()
      throws Exception {
    pingFlood("/presence");
  }

  @Test
  void pingFlood_onAnUpdateSocketBeforeTheKey_holdsNoMemory_thenClosedWithSlowConsumer()
      throws Exception {
    pingFlood("/4242");
  }

  /**
   * Streams 50 MB of pings at {@code path} without reading: the direct memory the node holds for
   * the socket stays within {@link #MEMORY_BOUND}, and once the socket stayed unwritable for the
   * bound the node ends it with −6; the client, reading at last, gets the error frame and the close
   * code.
   */
  private void pingFlood(String path) throws Exception {
    long slowBefore = errors(open, ErrorCode.SLOW_CONSUMER);
    byte[] chunk = frames(RawWebSocket.PING, new byte[125], 500);
    try (RawWebSocket ws = RawWebSocket.connect(open.port(), path, 4096)) {
      ByteBufAllocatorMetric held = socketAllocator(open, ws);
      AtomicLong sent = new AtomicLong();
      Thread writer =
          new Thread(
              () -> {
                try {
                  while (sent.get() < FLOOD_BYTES) {
                    ws.sendBytes(chunk);
                    sent.addAndGet(chunk.length);
                  }
                } catch (IOException e) {
                  // The node cut the socket at the end of its close linger.
                }
              },
              "ping-flood");
      writer.setDaemon(true);
      writer.start();
      long peak = 0;
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (writer.isAlive()
          && errors(open, ErrorCode.SLOW_CONSUMER) == slowBefore
          && System.nanoTime() < deadline) {
        peak = Math.max(peak, held.usedDirectMemory());
        Thread.sleep(10);
      }
      // Taken at once: a closing socket is read again (and its frames dropped) until it is cut.
      long sentWhenClosed = sent.get();
      peak = Math.max(peak, held.usedDirectMemory());
      assertThat(peak)
          .as(
              "direct memory held for the socket while %d bytes of pings were sent unread",
              sent.get())
          .isLessThanOrEqualTo(MEMORY_BOUND);
      await().atMost(WAIT).until(() -> errors(open, ErrorCode.SLOW_CONSUMER) > slowBefore);
      assertThat(sentWhenClosed).as("the node stopped reading").isLessThan(FLOOD_BYTES);
      Received got = readUntilClose(ws);
      assertThat(got.texts()).hasSize(1);
      assertThat(JSON.readTree(got.texts().get(0)).path("errno").asInt())
          .isEqualTo(ErrorCode.SLOW_CONSUMER.errno());
      assertThat(got.closeCode()).isEqualTo(ErrorCode.SLOW_CONSUMER.closeCode());
    }
  }

  @Test
  void pingsBeyondTheBucket_beforeConnectOrKey_getNoPong_thenRateLimitExceeded() throws Exception {
    for (String path : List.of("/presence", "/4242")) {
      try (RawWebSocket ws = RawWebSocket.connect(limited.port(), path)) {
        // Bucket 10, overdraft 20 (the defaults): 40 pings at once.
        ws.sendBytes(frames(RawWebSocket.PING, text("hi"), 40));
        Received got = readUntilClose(ws);
        assertThat(got.pongs()).as(path).isBetween(10, 12);
        assertThat(got.texts()).as(path).hasSize(1);
        assertThat(JSON.readTree(got.texts().get(0)).path("errno").asInt())
            .isEqualTo(ErrorCode.RATE_LIMIT_EXCEEDED.errno());
        assertThat(got.closeCode()).isEqualTo(4004);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // A session's last words

  private static String connectFrame(TestNode node) {
    return new String(
        DeviceCodec.toBytes(
            new Connect(node.token("flood-" + UUID.randomUUID() + "@example.com"), null, "phone")),
        StandardCharsets.UTF_8);
  }

  private static UUID connect(RawWebSocket ws, TestNode node) throws IOException {
    ws.sendText(connectFrame(node));
    String answer = ws.readText(WAIT, true);
    assertThat(answer).contains("session_id");
    return UUID.fromString(JSON.readTree(answer).path("session_id").asText());
  }

  private static byte[] status(UUID session, String status) {
    return text(
        "{\"type\":\"status\",\"session_id\":\"" + session + "\",\"status\":\"" + status + "\"}");
  }

  @Test
  void twoThousandStatusFramesBackToBack_everyAckInOrder_thenTheErrnoAndTheCloseCode()
      throws Exception {
    try (RawWebSocket ws = RawWebSocket.connect(limited.port(), "/presence")) {
      UUID session = connect(ws, limited);
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      Random random = new Random(3);
      for (int i = 0; i < 2000; i++) {
        all.writeBytes(
            RawWebSocket.frame(
                RawWebSocket.TEXT, true, status(session, i % 2 == 0 ? "online" : "away"), random));
      }
      byte[] bytes = all.toByteArray();
      Thread writer =
          new Thread(
              () -> {
                try {
                  ws.sendBytes(bytes);
                } catch (IOException e) {
                  // Reported by what the client reads.
                }
              },
              "status-flood");
      writer.setDaemon(true);
      writer.start();
      Received got = readUntilClose(ws);
      List<Integer> errnos = new ArrayList<>();
      for (String t : got.texts()) {
        JsonNode n = JSON.readTree(t);
        errnos.add(n.path("result").asBoolean() ? 0 : n.path("errno").asInt());
      }
      assertThat(errnos).as("replies (0: an ack)").isNotEmpty();
      // The bucket (10) lets the first frames through: their acks come first, before any
      // refusal, and every accepted frame is acknowledged before the session ends.
      assertThat(errnos.subList(0, Math.min(10, errnos.size()))).containsOnly(0);
      assertThat(errnos.subList(0, errnos.size() - 1)).containsOnly(0, ErrorCode.SLOW_DOWN.errno());
      assertThat(errnos.get(errnos.size() - 1)).isEqualTo(ErrorCode.RATE_LIMIT_EXCEEDED.errno());
      assertThat(errnos.stream().filter(e -> e == 0).count()).isGreaterThanOrEqualTo(10);
      assertThat(errnos.stream().filter(e -> e == ErrorCode.SLOW_DOWN.errno()).count())
          .isGreaterThanOrEqualTo(20);
      assertThat(got.closeCode()).isEqualTo(4004);
      // The session is gone from the node, as any session that ends.
      await().atMost(WAIT).until(() -> limited.server().device().registry().size() == 0);
    }
  }

  @Test
  void refusalsDoNotOvertakePendingAcks_answersLeaveInRequestOrder() throws Exception {
    try (RawWebSocket ws = RawWebSocket.connect(limited.port(), "/presence")) {
      UUID session = connect(ws, limited);
      Random random = new Random(5);
      ByteArrayOutputStream batch = new ByteArrayOutputStream();
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        batch.writeBytes(
            RawWebSocket.frame(RawWebSocket.TEXT, true, status(session, "online"), random));
        expected.add(0);
        batch.writeBytes(RawWebSocket.frame(RawWebSocket.TEXT, true, text("{\"type\":"), random));
        expected.add(ErrorCode.MALFORMED_JSON.errno());
      }
      // One write: the node reads them together, so every refusal is ready before any ack.
      ws.sendBytes(batch.toByteArray());
      List<Integer> got = new ArrayList<>();
      for (int i = 0; i < expected.size(); i++) {
        String t = ws.readText(WAIT, true);
        assertThat(t).as("answer %d", i).isNotNull();
        JsonNode n = JSON.readTree(t);
        got.add(n.path("result").asBoolean() ? 0 : n.path("errno").asInt());
      }
      assertThat(got).isEqualTo(expected);
    }
  }
}
