package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceFixtures;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.presence.LocalPresenceStateStore;

/**
 * The session handler on an {@link EmbeddedChannel}: frames in, frames out, every buffer released
 * (the leak detector runs at paranoid level).
 */
class DeviceSessionHandlerTest {
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private DeviceRegistry registry;
  private DeviceChannelInstaller installer;
  private Disconnector disconnector;
  private Connections connections;
  private EmbeddedChannel ch;

  /** The token check of a connect with the token "slow": completes when a test says so. */
  private final CompletableFuture<Identity> slow = new CompletableFuture<>();

  @BeforeEach
  void setUp() {
    DeviceConfig config = DeviceConfig.defaults();
    registry = new DeviceRegistry(config.pingInterval());
    disconnector = new Disconnector(metrics);
    DeviceService service =
        DeviceChannel.assemble(
            config,
            "node",
            token ->
                token.equals("slow")
                    ? slow
                    : token.equals("good")
                        ? CompletableFuture.completedFuture(
                            new Identity("alice", "", Instant.now().plusSeconds(60)))
                        : CompletableFuture.failedFuture(
                            new ProtocolException(ErrorCode.INVALID_ASSERTION)),
            new LocalPresenceStateStore(),
            (user, update, now) -> CompletableFuture.completedFuture(null),
            null,
            bus,
            registry,
            Clock.systemUTC(),
            timers,
            metrics);
    installer =
        new DeviceChannelInstaller(
            config,
            8192,
            service,
            registry,
            disconnector,
            new ExceptionHandler(disconnector),
            metrics);
    connections = new Connections(metrics);
    ch = socket();
  }

  /**
   * A device socket as the router leaves it for the installer: backpressure first, the exception
   * tail last, the installer's session handler in its place; {@code frames} adds Netty's frame
   * encoder and decoder as the handshake does.
   */
  private EmbeddedChannel socket(ChannelHandler... frames) {
    EmbeddedChannel c = new EmbeddedChannel();
    c.freezeTime();
    c.pipeline().addFirst(PipelineNames.BACKPRESSURE, new Backpressure(1000, x -> {}));
    connections.opened(c);
    connections.upgraded(c, Connections.Kind.DEVICE, x -> {});
    for (ChannelHandler h : frames) {
      c.pipeline()
          .addLast(
              h instanceof WebSocketFrameEncoder
                  ? PipelineNames.WS_ENCODER
                  : PipelineNames.WS_DECODER,
              h);
    }
    c.pipeline().addLast(PipelineNames.EXCEPTION, new ExceptionHandler(disconnector));
    installer.install(c.pipeline(), null);
    return c;
  }

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
    timers.shutdownNow();
    bus.close();
  }

  private void send(String text) {
    ch.writeInbound(new TextWebSocketFrame(text));
    ch.runPendingTasks();
  }

  private void send(DeviceMessage m) {
    send(new String(DeviceCodec.toBytes(m), StandardCharsets.UTF_8));
  }

  /** The next frame written, decoded when it is text; released. */
  private Object next() {
    Object out = ch.readOutbound();
    assertThat(out).as("a frame was written").isNotNull();
    try {
      if (out instanceof TextWebSocketFrame t) {
        ByteBuf b = t.content();
        return DeviceFixtures.reply(b);
      }
      if (out instanceof CloseWebSocketFrame c) {
        return c.statusCode();
      }
      if (out instanceof PongWebSocketFrame p) {
        return "pong:" + p.content().toString(StandardCharsets.UTF_8);
      }
      return out.getClass().getSimpleName();
    } finally {
      ((WebSocketFrame) out).release();
    }
  }

  private UUID connect() {
    send(new Connect("good", null, "phone"));
    Object answer = next();
    assertThat(answer).isInstanceOf(Connected.class);
    return ((Connected) answer).sessionId();
  }

  @Test
  void binaryFrame_beforeConnect_thenErrnoAndCloseAndNothingLeaks() {
    ch.writeInbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2})));
    assertThat(next()).isEqualTo(ErrorReply.of(ErrorCode.NON_TEXT_FRAME, null));
    assertThat(next()).isEqualTo(4015);
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void connect_thenStatusAcked_andSessionRegistered() {
    UUID id = connect();
    assertThat(registry.size()).isEqualTo(1);
    assertThat(ch.config().isAutoRead()).isTrue();
    send(new StatusUpdate(id, PresenceStatus.ONLINE, null, null));
    assertThat(next()).isEqualTo(DeviceMessage.Ack.INSTANCE);
    ch.close();
    assertThat(registry.size()).isZero();
  }

  @Test
  void badToken_then34AndClosed() {
    send(new Connect("forged", null, "phone"));
    assertThat(next()).isEqualTo(ErrorReply.of(ErrorCode.INVALID_ASSERTION, null));
    assertThat(next()).isEqualTo(4034);
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void malformedFramesInASession_thenErrnoAndKept() {
    connect();
    send("{\"type\":");
    assertThat(((ErrorReply) next()).errno()).isEqualTo(10);
    ch.writeInbound(
        new TextWebSocketFrame(false, 0, Unpooled.copiedBuffer("{\"a\"", StandardCharsets.UTF_8)));
    assertThat(((ErrorReply) next()).errno()).isEqualTo(10);
    ch.writeInbound(
        new ContinuationWebSocketFrame(Unpooled.copiedBuffer(":1}", StandardCharsets.UTF_8)));
    assertThat((Object) ch.readOutbound()).isNull();
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void ping_thenPongWithItsPayload_closeFrame_thenEchoAndClosed() {
    connect();
    ch.writeInbound(new PingWebSocketFrame(Unpooled.copiedBuffer("hi", StandardCharsets.UTF_8)));
    assertThat(next()).isEqualTo("pong:hi");
    ch.writeInbound(new CloseWebSocketFrame(1000, "bye"));
    assertThat(next()).isEqualTo(1000);
    ch.runPendingTasks();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void noConnect_thenConnectTimeoutAfterTenSeconds() {
    ch.advanceTimeBy(9, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
    ch.advanceTimeBy(2, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(next()).isEqualTo(ErrorReply.of(ErrorCode.CONNECT_TIMEOUT, null));
    assertThat(next()).isEqualTo(4001);
    assertThat(ch.isOpen()).isFalse();
  }

  /** What a client reads from the bytes {@code c} wrote: each frame as {@link #next} gives it. */
  private static List<Object> framesFrom(EmbeddedChannel c) {
    EmbeddedChannel client =
        new EmbeddedChannel(new WebSocket13FrameDecoder(false, false, 1 << 20));
    Object o;
    while ((o = c.readOutbound()) != null) {
      assertThat(o).as("bytes on the socket, not a frame object").isInstanceOf(ByteBuf.class);
      client.writeInbound(o);
    }
    List<Object> frames = new ArrayList<>();
    WebSocketFrame f;
    while ((f = client.readInbound()) != null) {
      try {
        frames.add(
            f instanceof TextWebSocketFrame t
                ? DeviceFixtures.reply(t.content())
                : f instanceof CloseWebSocketFrame close
                    ? close.statusCode()
                    : f.getClass().getSimpleName()
                        + ":"
                        + f.content().toString(StandardCharsets.UTF_8));
      } finally {
        f.release();
      }
    }
    client.finishAndReleaseAll();
    return frames;
  }

  /** {@code frames} as the bytes a client sends (masked), in one buffer. */
  private static ByteBuf clientBytes(WebSocketFrame... frames) {
    EmbeddedChannel client = new EmbeddedChannel(new WebSocket13FrameEncoder(true));
    ByteBuf all = Unpooled.buffer();
    for (WebSocketFrame f : frames) {
      client.writeOutbound(f);
      ByteBuf b;
      while ((b = client.readOutbound()) != null) {
        all.writeBytes(b);
        b.release();
      }
    }
    client.finishAndReleaseAll();
    return all;
  }

  private static TextWebSocketFrame text(DeviceMessage m) {
    return new TextWebSocketFrame(Unpooled.wrappedBuffer(DeviceCodec.toBytes(m)));
  }

  /** A device socket after the handshake, with Netty's codec as the handshake installs it. */
  private EmbeddedChannel upgraded() {
    EmbeddedChannel s =
        socket(new WebSocket13FrameEncoder(false), new WebSocket13FrameDecoder(true, false, 8192));
    s.pipeline()
        .fireUserEventTriggered(
            new WebSocketServerProtocolHandler.HandshakeComplete(
                "/presence", EmptyHttpHeaders.INSTANCE, null));
    return s;
  }

  @Test
  void afterTheHandshake_theHandlerEncodesAndDecodesFrames_inTheCodecsPlace() {
    EmbeddedChannel s = upgraded();
    try {
      assertThat(s.pipeline().names())
          .doesNotContain(PipelineNames.WS_ENCODER, PipelineNames.BACKPRESSURE)
          .contains(PipelineNames.WS_DECODER, PipelineNames.DEVICE_SESSION);

      // The connect, and a ping in the same read: the wsdecoder decodes the connect, the handler
      // takes its place and decodes the ping from the bytes it handed back.
      s.writeInbound(
          clientBytes(
              text(new Connect("good", null, "phone")),
              new PingWebSocketFrame(Unpooled.copiedBuffer("hi", StandardCharsets.UTF_8))));
      s.runPendingTasks();
      assertThat(s.pipeline().names()).doesNotContain(PipelineNames.WS_DECODER);
      List<Object> frames = framesFrom(s);
      assertThat(frames).hasSize(2);
      assertThat(frames.get(0)).isInstanceOf(Connected.class);
      assertThat(frames.get(1)).isEqualTo("PongWebSocketFrame:hi");
      UUID id = ((Connected) frames.get(0)).sessionId();

      // A status (answered with the ack's whole-frame bytes), a malformed frame and a ping, the
      // bytes cut in two reads in the middle of a frame.
      ByteBuf bytes =
          clientBytes(
              text(new StatusUpdate(id, PresenceStatus.ONLINE, null, null)),
              new TextWebSocketFrame("{\"type\":"),
              new PingWebSocketFrame(Unpooled.copiedBuffer("yo", StandardCharsets.UTF_8)));
      int half = bytes.readableBytes() / 2;
      s.writeInbound(bytes.readRetainedSlice(half));
      s.writeInbound(bytes);
      s.runPendingTasks();
      frames = framesFrom(s);
      assertThat(frames).hasSize(3);
      assertThat(frames.get(0)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(((ErrorReply) frames.get(1)).errno()).isEqualTo(10);
      assertThat(frames.get(2)).isEqualTo("PongWebSocketFrame:yo");

      // Frames written through the pipeline by others: the disconnector's error and close. Then
      // the socket lingers: frames are dropped, and the client's close frame ends it.
      disconnector.close(s, ErrorCode.SLOW_CONSUMER, null);
      s.runPendingTasks();
      frames = framesFrom(s);
      assertThat(frames)
          .containsExactly(
              ErrorReply.of(ErrorCode.SLOW_CONSUMER, null), ErrorCode.SLOW_CONSUMER.closeCode());
      s.writeInbound(clientBytes(text(new StatusUpdate(id, PresenceStatus.AWAY, null, null))));
      s.runPendingTasks();
      assertThat(framesFrom(s)).isEmpty();
      assertThat(s.isOpen()).isTrue();
      s.writeInbound(clientBytes(new CloseWebSocketFrame(1000, "bye")));
      s.runPendingTasks();
      assertThat(s.isOpen()).isFalse();
    } finally {
      s.finishAndReleaseAll();
    }
  }

  @Test
  void connectBeingChecked_withPartOfTheNextFrame_noReadIsAskedFor() {
    EmbeddedChannel s = upgraded();
    AtomicInteger reads = new AtomicInteger();
    s.pipeline()
        .addFirst(
            "count-reads",
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void read(ChannelHandlerContext c) {
                reads.incrementAndGet();
                c.read();
              }
            });
    ByteBuf bytes = clientBytes(text(new Connect("slow", null, "phone")));
    ByteBuf next = clientBytes(new TextWebSocketFrame("{\"type\":\"status\"}"));
    bytes.writeBytes(next, next.readableBytes() - 3);
    next.release();
    try {
      s.writeInbound(bytes);
      s.runPendingTasks();
      assertThat(s.pipeline().names()).doesNotContain(PipelineNames.WS_DECODER);
      assertThat(s.config().isAutoRead()).as("reads paused while the connect is checked").isFalse();
      assertThat(reads.get()).as("reads asked for while paused").isZero();
      slow.complete(new Identity("alice", "", Instant.now().plusSeconds(60)));
      s.runPendingTasks();
      assertThat(s.config().isAutoRead()).isTrue();
      assertThat(framesFrom(s)).hasSize(1).first().isInstanceOf(Connected.class);
    } finally {
      s.finishAndReleaseAll();
    }
  }

  @Test
  void connectThenAFrameTooLarge_inOneRead_answeredWithItsErrno() {
    EmbeddedChannel s = upgraded();
    try {
      s.writeInbound(
          clientBytes(
              text(new Connect("good", null, "phone")),
              new TextWebSocketFrame(Unpooled.wrappedBuffer(new byte[9000]))));
      s.runPendingTasks();
      List<Object> frames = framesFrom(s);
      assertThat(frames).hasSize(3);
      assertThat(frames.get(0)).isInstanceOf(Connected.class);
      assertThat(frames.get(1)).isEqualTo(ErrorReply.of(ErrorCode.FRAME_TOO_LARGE, null));
      assertThat(frames.get(2)).isEqualTo(ErrorCode.FRAME_TOO_LARGE.closeCode());
    } finally {
      s.finishAndReleaseAll();
    }
  }

  @Test
  void aFrameCutShort_isReleasedWhenTheSocketCloses() {
    EmbeddedChannel s = upgraded();
    s.writeInbound(clientBytes(text(new Connect("good", null, "phone"))));
    s.runPendingTasks();
    assertThat(framesFrom(s)).hasSize(1);
    ByteBuf status = clientBytes(new TextWebSocketFrame("{\"type\":\"status\"}"));
    s.writeInbound(status.readRetainedSlice(status.readableBytes() - 3));
    status.release();
    s.runPendingTasks();
    assertThat(framesFrom(s)).isEmpty();
    assertThat(status.refCnt()).as("held by the handler's decoder").isEqualTo(1);
    s.close();
    s.runPendingTasks();
    assertThat(status.refCnt()).as("released at the close").isZero();
    assertThat(s.finishAndReleaseAll()).isFalse();
  }

  @Test
  void connectTimer_whenSessionOpened_thenCancelled() {
    connect();
    ch.advanceTimeBy(30, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
  }
}
