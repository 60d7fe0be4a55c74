package org.presence.gateway.xmpp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.presence.gateway.config.XmppConfig;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.http.ControlFrames;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.WebSocketEndpoint;
import org.presence.protocol.error.ErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * XMPP over WebSocket (RFC 7395) at {@code /xmpp-websocket} on the HTTP port: the same session as
 * on the XMPP port, behind a framing handler that turns the RFC's messages into the stream the
 * decoder and the session speak and back:
 *
 * <pre>
 * xmpp-ws-violations → ws-protocol → xmpp-ws-framing → xmpp-decoder → xmpp-session
 * </pre>
 *
 * Inbound, {@code <open xmlns='urn:ietf:params:xml:ns:xmpp-framing' .../>} becomes a stream header,
 * {@code <close/>} the stream's end, and any other text message is passed on as it is (the decoder
 * judges it, with its limits). Outbound, the session's text is cut into its top-level elements, one
 * WebSocket message each: the stream header becomes {@code <open/>}, the stream's end {@code
 * <close/>}, and each element gets the namespace declarations it relied on the stream root for. The
 * connection is TLS as far as the session is concerned (the WebSocket's own, {@code wss:}, or the
 * proxy's in front of the HTTP port): STARTTLS is neither offered nor accepted.
 *
 * <p>A WebSocket protocol violation ends the stream with a stream error and the WebSocket with the
 * close code the update channel gives it ({@link Violations}).
 */
public final class XmppWebSocket implements WebSocketEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(XmppWebSocket.class);

  /** The route. */
  public static final String PATH = "/xmpp-websocket";

  static final String FRAMING_NS = "urn:ietf:params:xml:ns:xmpp-framing";
  static final String FRAMING = "xmpp-ws-framing";
  static final String VIOLATIONS = "xmpp-ws-violations";
  private static final String STREAMS_NS = "http://etherx.jabber.org/streams";

  /**
   * An {@code <open/>} message, which may start with an XML declaration: each message is a document
   * of its own (RFC 7395 §3.3.3), and a document may have one. The declaration goes to the decoder
   * as the stream's first bytes, which checks its encoding as on the XMPP port.
   */
  private static final Pattern OPEN =
      Pattern.compile("\\s*(<\\?xml\\s[^<>]*?\\?>)?\\s*<open\\s([^<>]*?)/>\\s*", Pattern.DOTALL);

  private static final Pattern CLOSE =
      Pattern.compile("\\s*<close\\s+xmlns=(['\"])" + Pattern.quote(FRAMING_NS) + "\\1\\s*/>\\s*");
  private static final Pattern FRAMING_XMLNS =
      Pattern.compile("xmlns=(['\"])" + Pattern.quote(FRAMING_NS) + "\\1");
  private static final Pattern ATTRIBUTE =
      Pattern.compile("\\s([a-zA-Z:_][-a-zA-Z0-9:_.]*)=('[^']*'|\"[^\"]*\")");

  private volatile XmppServer server;

  /** The node's XMPP interface, once it started; until then the upgrade is closed (1013). */
  public void attach(XmppServer server) {
    this.server = server;
  }

  @Override
  public Connections.Kind kind() {
    return Connections.Kind.XMPP;
  }

  /** RFC 7395 §3.1: the subprotocol is {@code xmpp}. */
  @Override
  public String subprotocols() {
    return "xmpp";
  }

  /**
   * RFC 7395 §3.1: the client offers {@code xmpp} and the connection is XMPP only once the server
   * echoed it; a handshake that does not offer it is refused (400), not served as a WebSocket that
   * speaks no agreed protocol.
   */
  @Override
  public boolean requiresSubprotocol() {
    return true;
  }

  @Override
  public Consumer<Channel> onDrain() {
    return XmppServer.DRAIN;
  }

  @Override
  public void install(ChannelPipeline pipeline, HttpExchange upgrade) {
    XmppServer s = server;
    if (s == null) {
      pipeline.addAfter(PipelineNames.WS_PROTOCOL, FRAMING, new NotYet());
      return;
    }
    XmppConfig c = s.config();
    XmppSession session = new XmppSession(s, true);
    // Before ws-protocol, which would close the socket (with 1000) at a violation it saw, and
    // echo any close frame; after Netty's UTF-8 check, which ws-protocol put before itself.
    pipeline.addBefore(PipelineNames.WS_PROTOCOL, VIOLATIONS, new Violations(session));
    pipeline.addAfter(PipelineNames.WS_PROTOCOL, FRAMING, new Framing());
    pipeline.addAfter(
        FRAMING, XmppServer.DECODER, new StanzaDecoder(c.maxStanzaBytes(), c.maxDepth(), true));
    pipeline.addAfter(XmppServer.DECODER, XmppServer.SESSION, session);
  }

  /**
   * Fails the connection at a WebSocket protocol violation: a message over {@code
   * limits.max-frame-bytes}, a text message that is not UTF-8, a broken frame (Netty's decoder and
   * UTF-8 check throw each of these), or a close frame with a code no peer may send ({@link
   * ControlFrames#checkCloseCode}). The stream ends with a stream error (RFC 7395 §3.5: a message
   * of its own, then {@code <close/>}): {@code policy-violation} for a message too large, as the
   * XMPP port answers a stanza too large, {@code not-well-formed} for bytes that are not UTF-8, as
   * the XMPP port answers them, and {@code bad-format} for the rest. Then the WebSocket closes with
   * the close code the update channel gives the same violation ({@code FRAME_TOO_LARGE}, {@code
   * INVALID_UTF8}'s 1007 as RFC 6455 §8.1 requires, or {@code HANDSHAKE_FAILED}, as {@link
   * org.presence.gateway.error.ExceptionHandler} maps it). The client got it wrong, so it is logged
   * at DEBUG only. From then on every frame is dropped, and the client's close frame closes the
   * socket; otherwise the session's linger does.
   *
   * <p>The violation never reaches the session, which is the XMPP port's too and takes any failure
   * it sees for a bug, nor the pipeline's {@code exception} tail, whose {@link
   * org.presence.gateway.error.Disconnector} speaks the JSON channels' error frame.
   */
  static final class Violations extends ChannelInboundHandlerAdapter {
    private final XmppSession session;
    private boolean failed;

    Violations(XmppSession session) {
      this.session = session;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (failed) {
        boolean close = msg instanceof CloseWebSocketFrame;
        ReferenceCountUtil.release(msg);
        if (close) {
          ctx.close();
        }
        return;
      }
      if (msg instanceof CloseWebSocketFrame close) {
        try {
          ControlFrames.checkCloseCode(close);
        } catch (CorruptedWebSocketFrameException e) {
          close.release();
          fail(ctx, e);
          return;
        }
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (ExceptionHandler.unwrap(cause) instanceof CorruptedWebSocketFrameException ws) {
        fail(ctx, ws);
        return;
      }
      ctx.fireExceptionCaught(cause);
    }

    private void fail(ChannelHandlerContext ctx, CorruptedWebSocketFrameException violation) {
      if (failed) {
        return;
      }
      failed = true;
      LOG.debug("WebSocket protocol violation on {}: {}", ctx.channel(), violation.getMessage());
      boolean tooLarge = ExceptionHandler.tooLarge(violation);
      boolean notUtf8 = ExceptionHandler.notUtf8(violation);
      ErrorCode code = ExceptionHandler.violationCode(violation);
      session.streamError(
          tooLarge ? "policy-violation" : notUtf8 ? "not-well-formed" : "bad-format",
          violation.getMessage());
      // Through the whole pipeline, so that ws-protocol knows the close is sent and sends no
      // other when the session closes the socket.
      ctx.channel()
          .writeAndFlush(
              new CloseWebSocketFrame(
                  code.closeCode(),
                  code.reasonWith(
                      code == ErrorCode.HANDSHAKE_FAILED ? "WebSocket protocol violation" : null)));
    }
  }

  /**
   * Translates between RFC 7395 messages and the session's stream. An {@code <open/>} message
   * becomes the root's start tag, {@code <ws:open>} in the framing namespace ({@link
   * StanzaDecoder#FRAMED_ROOT}), with {@code jabber:client} as the content namespace; {@code
   * <close/>} its end tag. The decoder over WebSocket takes no other root, so a {@code
   * <stream:stream>} the client sends (RFC 7395 has {@code <open/>} instead) ends the stream with
   * {@code invalid-namespace}, after the server's {@code <open/>} (§3.5), as a root in a wrong
   * namespace does on the XMPP port (RFC 6120 §4.8.1).
   */
  static final class Framing extends ChannelDuplexHandler {
    private static final String ROOT_PREFIX = "ws";
    private static final String ROOT = ROOT_PREFIX + ":" + StanzaDecoder.FRAMED_ROOT;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof WebSocketFrame frame)) {
        ctx.fireChannelRead(msg);
        return;
      }
      try {
        if (frame instanceof io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame) {
          ctx.writeAndFlush(
                  new CloseWebSocketFrame(
                      WebSocketCloseStatus.INVALID_MESSAGE_TYPE, "text messages only"))
              .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
          return;
        }
        if (frame
            instanceof io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame more) {
          ctx.fireChannelRead(more.content().retain());
          return;
        }
        if (!(frame instanceof TextWebSocketFrame text)) {
          // Ping, pong and close frames are the protocol handler's.
          return;
        }
        String s = text.text();
        Matcher open = OPEN.matcher(s);
        if (open.matches() && FRAMING_XMLNS.matcher(open.group(2)).find()) {
          String attributes = FRAMING_XMLNS.matcher(open.group(2)).replaceFirst("");
          String declaration = open.group(1) == null ? "" : open.group(1);
          ctx.fireChannelRead(
              ByteBufUtil.writeUtf8(
                  ctx.alloc(),
                  declaration
                      + "<"
                      + ROOT
                      + " xmlns:"
                      + ROOT_PREFIX
                      + "='"
                      + FRAMING_NS
                      + "' xmlns='jabber:client' xmlns:stream='"
                      + STREAMS_NS
                      + "' "
                      + attributes
                      + ">"));
        } else if (CLOSE.matcher(s).matches()) {
          ctx.fireChannelRead(ByteBufUtil.writeUtf8(ctx.alloc(), "</" + ROOT + ">"));
        } else {
          ctx.fireChannelRead(text.content().retain());
        }
      } finally {
        frame.release();
      }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (!(msg instanceof ByteBuf buf)) {
        ctx.write(msg, promise);
        return;
      }
      List<String> messages;
      try {
        messages = messages(buf.toString(StandardCharsets.UTF_8));
      } finally {
        buf.release();
      }
      if (messages.isEmpty()) {
        promise.trySuccess();
        return;
      }
      for (int i = 0; i < messages.size() - 1; i++) {
        ctx.write(new TextWebSocketFrame(messages.get(i)), ctx.voidPromise());
      }
      ctx.write(new TextWebSocketFrame(messages.get(messages.size() - 1)), promise);
    }
  }

  /**
   * The session's text (whole elements only: it writes nothing else) cut into RFC 7395 messages.
   * The server's own XML escapes {@code <} and {@code >} everywhere but in markup, so a scan of the
   * tags finds the top-level elements.
   */
  static List<String> messages(String xml) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = -1;
    int i = 0;
    while (i < xml.length()) {
      int lt = xml.indexOf('<', i);
      if (lt < 0) {
        break;
      }
      int gt = xml.indexOf('>', lt);
      if (gt < 0) {
        break;
      }
      String tag = xml.substring(lt, gt + 1);
      i = gt + 1;
      if (tag.startsWith("<?")) {
        continue;
      }
      if (depth == 0 && tag.startsWith("<stream:stream")) {
        out.add(open(tag));
        continue;
      }
      if (tag.equals("</stream:stream>")) {
        out.add("<close xmlns='" + FRAMING_NS + "'/>");
        continue;
      }
      if (tag.startsWith("</")) {
        depth--;
      } else {
        if (depth == 0) {
          start = lt;
        }
        if (!tag.endsWith("/>")) {
          depth++;
        }
      }
      if (depth == 0 && start >= 0) {
        out.add(declared(xml.substring(start, i)));
        start = -1;
      }
    }
    return out;
  }

  /** The stream header's attributes (but its namespaces) on an {@code <open/>}. */
  private static String open(String header) {
    StringBuilder o =
        new StringBuilder(128).append("<open xmlns='").append(FRAMING_NS).append('\'');
    Matcher a = ATTRIBUTE.matcher(header);
    while (a.find()) {
      if (!a.group(1).startsWith("xmlns")) {
        o.append(' ').append(a.group(1)).append('=').append(a.group(2));
      }
    }
    return o.append("/>").toString();
  }

  /** {@code element} with the declarations of the stream root it relies on. */
  private static String declared(String element) {
    int name = 1;
    while (name < element.length()
        && element.charAt(name) != ' '
        && element.charAt(name) != '>'
        && element.charAt(name) != '/') {
      name++;
    }
    String head = element.substring(0, name);
    String startTag = element.substring(0, element.indexOf('>') + 1);
    if (head.startsWith("<stream:")) {
      return head + " xmlns:stream='" + STREAMS_NS + "'" + element.substring(name);
    }
    if (!startTag.contains(" xmlns=")) {
      return head + " xmlns='jabber:client'" + element.substring(name);
    }
    return element;
  }

  /** An upgrade in the moment between the HTTP port's start and the XMPP interface's. */
  private static final class NotYet extends io.netty.channel.ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt
          instanceof
          io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler.HandshakeComplete) {
        ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.TRY_AGAIN_LATER, "starting"))
            .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }
  }
}
