package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Frames written by a handler in the encoder's place come out as the bytes Netty's own encoder
 * writes, and a client's decoder reads them back; every buffer released (paranoid leak detection).
 */
class ServerFramesTest {
  /** Encodes frames in its write, as the device session handler does once it took over. */
  private static final class Encoding extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof WebSocketFrame f) {
        ServerFrames.write(ctx, f, promise);
      } else {
        ctx.write(msg, promise);
      }
    }
  }

  private final EmbeddedChannel server = new EmbeddedChannel(new Encoding());
  private final EmbeddedChannel netty = new EmbeddedChannel(new WebSocket13FrameEncoder(false));

  @AfterEach
  void tearDown() {
    server.finishAndReleaseAll();
    netty.finishAndReleaseAll();
  }

  /** Every byte the channel wrote, in one buffer. */
  private static ByteBuf written(EmbeddedChannel ch) {
    ByteBuf all = Unpooled.buffer();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      all.writeBytes(b);
      b.release();
    }
    return all;
  }

  /** The frames a client reads from {@code bytes} (unmasked, as a server sends); released. */
  private static List<String> read(ByteBuf bytes) {
    EmbeddedChannel client =
        new EmbeddedChannel(new WebSocket13FrameDecoder(false, false, 1 << 20));
    client.writeInbound(bytes);
    List<String> frames = new ArrayList<>();
    WebSocketFrame f;
    while ((f = client.readInbound()) != null) {
      String kind = f.getClass().getSimpleName().replace("WebSocketFrame", "");
      frames.add(kind + ":" + f.content().toString(StandardCharsets.UTF_8));
      f.release();
    }
    client.finishAndReleaseAll();
    return frames;
  }

  private static String repeat(int n) {
    return "x".repeat(n);
  }

  @Test
  void shortAndLongFrames_sameBytesAsNettysEncoder_andReadBack() {
    // 15 bytes fit the header's buffer; 5,000 go out as header and payload, two writes.
    for (String text : List.of("{\"result\":true}", repeat(300), repeat(5_000))) {
      ChannelFuture done = server.writeAndFlush(new TextWebSocketFrame(text));
      netty.writeAndFlush(new TextWebSocketFrame(text));
      assertThat(done.isSuccess()).as("promise of %d bytes", text.length()).isTrue();
      ByteBuf ours = written(server);
      ByteBuf theirs = written(netty);
      try {
        assertThat(ByteBufUtil.getBytes(ours)).isEqualTo(ByteBufUtil.getBytes(theirs));
      } finally {
        theirs.release();
      }
      assertThat(read(ours)).containsExactly("Text:" + text);
    }
  }

  @Test
  void voidPromise_controlFrames_inOrder() {
    server.write(new TextWebSocketFrame(repeat(2_000)), server.voidPromise());
    server.write(new PingWebSocketFrame(), server.voidPromise());
    server.writeAndFlush(new CloseWebSocketFrame(4015, "bye"), server.voidPromise());
    List<String> frames = read(written(server));
    assertThat(frames).hasSize(3);
    assertThat(frames.get(0)).isEqualTo("Text:" + repeat(2_000));
    assertThat(frames.get(1)).isEqualTo("Ping:");
    assertThat(frames.get(2)).startsWith("Close:");
  }

  @Test
  void text_isTheWholeFrameNettyWrites() {
    byte[] payload = "{\"result\":true}".getBytes(StandardCharsets.UTF_8);
    netty.writeAndFlush(new TextWebSocketFrame(Unpooled.wrappedBuffer(payload)));
    ByteBuf theirs = written(netty);
    try {
      assertThat(ServerFrames.text(payload)).isEqualTo(ByteBufUtil.getBytes(theirs));
    } finally {
      theirs.release();
    }
  }
}
