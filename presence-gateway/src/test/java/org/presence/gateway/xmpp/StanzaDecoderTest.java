package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.connection.Backpressure;

/**
 * The decoder's hold on an {@link EmbeddedChannel}, behind the backpressure handler, with a session
 * stand-in that holds at every {@code <auth/>}: what comes after it waits, in order, and is dropped
 * once the connection is being closed.
 */
class StanzaDecoderTest {
  private final List<Object> decoded = new ArrayList<>();
  private EmbeddedChannel ch;
  private StanzaDecoder decoder;

  @BeforeEach
  void setUp() {
    decoder = new StanzaDecoder(65536, 16);
    ch = new EmbeddedChannel();
    ch.pipeline().addLast("backpressure", new Backpressure(1000, c -> {}));
    ch.pipeline().addLast(XmppServer.DECODER, decoder);
    ch.pipeline()
        .addLast(
            new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof XmlElement e && e.name().equals("auth")) {
                  decoder.hold();
                }
                decoded.add(msg);
              }
            });
  }

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  private static ByteBuf utf8(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  private List<String> names() {
    return decoded.stream()
        .filter(XmlElement.class::isInstance)
        .map(e -> ((XmlElement) e).name())
        .toList();
  }

  @Test
  void hold_thenWhatFollowsWaits_andIsDecodedInOrderOnResume() {
    ch.writeInbound(utf8(RawXmpp.HEADER + "<auth/><a/>"));
    ch.writeInbound(utf8("<b/>"));
    assertThat(names()).containsExactly("auth");
    decoder.resume();
    assertThat(names()).containsExactly("auth", "a", "b");
  }

  @Test
  void hold_whileTheConnectionCloses_dropsWhatArrives() {
    ch.writeInbound(utf8(RawXmpp.HEADER + "<auth/>"));
    Backpressure.closing(ch);
    ByteBuf late = utf8("<a/>");
    ch.writeInbound(late);
    assertThat(late.refCnt()).as("released, not held until the close").isZero();
  }
}
