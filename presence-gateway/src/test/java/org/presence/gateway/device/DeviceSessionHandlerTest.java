package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
  private EmbeddedChannel ch;

  @BeforeEach
  void setUp() {
    DeviceConfig config = DeviceConfig.defaults();
    registry = new DeviceRegistry(config.pingInterval());
    Disconnector disconnector = new Disconnector(metrics);
    DeviceService service =
        DeviceChannel.assemble(
            config,
            "node",
            token ->
                token.equals("good")
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
    ch = new EmbeddedChannel();
    ch.freezeTime();
    Connections connections = new Connections(metrics);
    ch.pipeline().addFirst(PipelineNames.BACKPRESSURE, new Backpressure(1000, c -> {}));
    connections.opened(ch);
    connections.upgraded(ch, Connections.Kind.DEVICE, c -> {});
    ch.pipeline().addLast(PipelineNames.EXCEPTION, new ExceptionHandler(disconnector));
    installer.install(ch.pipeline(), null);
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

  @Test
  void connectTimer_whenSessionOpened_thenCancelled() {
    connect();
    ch.advanceTimeBy(30, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
  }
}
