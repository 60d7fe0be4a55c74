package org.presence.gateway.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseCombiner;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a server's WebSocket frames for a handler that took the place of the {@code wsencoder} in
 * its pipeline: the encoding is Netty's ({@link WebSocket13FrameEncoder}, unmasked, as a server
 * sends), run by the handler itself rather than by a handler of its own with its own pipeline
 * entry. A server's encoder keeps no state, so one instance serves every channel.
 *
 * <p>{@link #text} builds a whole short text frame (header and payload) once, for an answer sent so
 * often that it is worth copying as it is (the device channel's ack).
 */
public final class ServerFrames {
  /** The encoder's {@code encode}, which Netty keeps for subclasses. */
  private static final class Encoder extends WebSocket13FrameEncoder {
    Encoder() {
      super(false);
    }

    void encodeTo(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out)
        throws Exception {
      encode(ctx, frame, out);
    }
  }

  private static final Encoder ENCODER = new Encoder();

  /** The most payload {@link #text} takes: a 7-bit length (RFC 6455 §5.2). */
  public static final int MAX_SHORT_PAYLOAD = 125;

  private ServerFrames() {}

  /**
   * Encodes {@code frame} and writes it from {@code ctx} (towards the socket), completing {@code
   * promise} once every part of it is written. Takes {@code frame} over (it is released here).
   */
  public static void write(
      ChannelHandlerContext ctx, WebSocketFrame frame, ChannelPromise promise) {
    List<Object> out = new ArrayList<>(2);
    try {
      ENCODER.encodeTo(ctx, frame, out);
    } catch (Exception e) {
      out.forEach(ReferenceCountUtil::release);
      promise.tryFailure(e instanceof EncoderException ? e : new EncoderException(e));
      return;
    } finally {
      frame.release();
    }
    if (out.size() == 1) {
      ctx.write(out.get(0), promise);
    } else if (promise.isVoid()) {
      for (Object part : out) {
        ctx.write(part, promise);
      }
    } else {
      PromiseCombiner parts = new PromiseCombiner(ctx.executor());
      for (Object part : out) {
        parts.add(ctx.write(part));
      }
      parts.finish(promise);
    }
  }

  /**
   * The bytes of a whole final text frame from a server carrying {@code payload} (at most {@link
   * #MAX_SHORT_PAYLOAD} bytes): the opcode byte, the length byte, the payload.
   */
  public static byte[] text(byte[] payload) {
    if (payload.length > MAX_SHORT_PAYLOAD) {
      throw new IllegalArgumentException("payload of " + payload.length + " bytes");
    }
    byte[] frame = new byte[payload.length + 2];
    frame[0] = (byte) 0x81; // FIN, text
    frame[1] = (byte) payload.length; // no mask
    System.arraycopy(payload, 0, frame, 2, payload.length);
    return frame;
  }
}
