package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * The device channel on the embedded default: one node, H2 and the in-process bus. A subclass may
 * start its nodes with other settings ({@link #startWith}).
 */
class DeviceChannelTest extends DeviceChannelContract {
  @TempDir static Path root;
  private static TestNode node;
  private static final List<Path> dirs = new CopyOnWriteArrayList<>();
  private static Map<String, String> extra = Map.of();

  @BeforeAll
  static void start() {
    startWith(Map.of());
  }

  /** Starts the class's node with {@code settings} added, as every node its tests start. */
  static void startWith(Map<String, String> settings) {
    extra = Map.copyOf(settings);
    node = TestNode.start(settings("a"), r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
      node = null;
    }
  }

  private static Map<String, String> settings(String name) {
    Path dir = root.resolve(name + "-" + dirs.size());
    dirs.add(dir);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> s = TestNode.baseSettings(dir);
    s.putAll(deviceSettings());
    s.putAll(extra);
    return s;
  }

  @Override
  protected TestNode nodeA() {
    return node;
  }

  @Override
  protected TestNode nodeB() {
    return node;
  }

  @Override
  protected TestNode startNode(Map<String, String> overrides) {
    Map<String, String> s = settings("extra");
    s.putAll(overrides);
    return TestNode.start(s, r -> {});
  }

  /**
   * Status frames that arrive in one read are answered with one flush: on the embedded store, with
   * the user's grants cached, each change is decided before the read ends, so its ack is written in
   * the read, without a task, and flushed with the others at its end. Counted by a handler in front
   * of the socket's pipeline.
   */
  @Test
  void statusesOfOneRead_areAckedWithOneFlush() throws Exception {
    Duration wait = Duration.ofSeconds(10);
    int n = 6;
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence")) {
      ws.sendText(
          new String(
              DeviceCodec.toBytes(
                  new DeviceMessage.Connect(
                      node.token("flush-" + UUID.randomUUID() + "@example.com"), null, "phone")),
              StandardCharsets.UTF_8));
      String connected = ws.readText(wait, false);
      assertThat(connected).contains("session_id");
      UUID session =
          UUID.fromString(connected.replaceAll(".*\"session_id\"\\s*:\\s*\"([^\"]+)\".*", "$1"));
      // A first status loads the user's grants into the node's cache; from then on a change is
      // decided without a store call.
      ws.sendText(
          new String(
              DeviceCodec.toBytes(
                  new DeviceMessage.StatusUpdate(session, PresenceStatus.ONLINE, null, null)),
              StandardCharsets.UTF_8));
      assertThat(ws.readText(wait, false)).isEqualTo("{\"result\":true}");
      AtomicInteger flushes = new AtomicInteger();
      List<io.netty.channel.Channel> channels = new CopyOnWriteArrayList<>();
      await()
          .atMost(wait)
          .until(
              () -> {
                channels.clear();
                node.server().device().registry().forEachChannel(channels::add);
                return !channels.isEmpty();
              });
      for (io.netty.channel.Channel ch : channels) {
        ch.eventLoop()
            .submit(
                () ->
                    ch.pipeline()
                        .addFirst(
                            "count-flushes",
                            new io.netty.channel.ChannelOutboundHandlerAdapter() {
                              @Override
                              public void flush(io.netty.channel.ChannelHandlerContext ctx) {
                                flushes.incrementAndGet();
                                ctx.flush();
                              }
                            }))
            .get();
      }
      // n status frames in one write (one segment on loopback, so one read on the node).
      ByteArrayOutputStream burst = new ByteArrayOutputStream();
      Random random = new Random(14);
      for (int i = 0; i < n; i++) {
        PresenceStatus status = i % 2 == 0 ? PresenceStatus.AWAY : PresenceStatus.ONLINE;
        burst.write(
            RawWebSocket.frame(
                RawWebSocket.TEXT,
                true,
                DeviceCodec.toBytes(new DeviceMessage.StatusUpdate(session, status, null, null)),
                random));
      }
      ws.sendBytes(burst.toByteArray());
      for (int i = 0; i < n; i++) {
        assertThat(ws.readText(wait, false)).isEqualTo("{\"result\":true}");
      }
      assertThat(flushes.get()).as("flushes for %d acks of one read", n).isLessThan(n);
    }
  }

  /**
   * A client that sends its connect in the upgrade request's own write, without waiting for the
   * 101, gets the 101 and then the connect's answer: the bytes read after the request are the
   * WebSocket's first frames (they were lost when the HTTP codec left the pipeline).
   */
  @Test
  void aConnectSentInTheUpgradesOwnWrite_isAnswered() throws Exception {
    byte[] connect =
        DeviceCodec.toBytes(
            new DeviceMessage.Connect(
                node.token("early-" + UUID.randomUUID() + "@example.com"), null, "phone"));
    try (RawWebSocket ws =
        RawWebSocket.connectSending(
            node.port(),
            "/presence",
            null,
            RawWebSocket.frame(RawWebSocket.TEXT, true, connect, new Random(27)))) {
      assertThat(ws.readText(Duration.ofSeconds(10), false)).contains("session_id");
    }
  }
}
