package org.presence.gateway.xmpp;

import com.fasterxml.aalto.AsyncByteBufferFeeder;
import com.fasterxml.aalto.AsyncXMLInputFactory;
import com.fasterxml.aalto.AsyncXMLStreamReader;
import com.fasterxml.aalto.stax.InputFactoryImpl;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import org.presence.gateway.connection.Backpressure;

/**
 * The {@code xmpp-decoder} handler: Aalto's non-blocking parser, fed the connection's bytes as they
 * arrive, turns the XML stream into one message per unit: a {@link StreamOpen} for the stream
 * header, an {@link XmlElement} tree per top-level element (a stanza or a negotiation element), a
 * {@link #STREAM_CLOSE} for {@code </stream:stream>}, and a {@link Problem} (then nothing more) for
 * what RFC 6120 answers with a stream error:
 *
 * <ul>
 *   <li>malformed XML, or bytes that are not well-formed UTF-8 ({@link Utf8Stream}, checked before
 *       Aalto reads them, as it decodes overlong forms), or a stream that starts with U+FEFF (a
 *       byte order mark, which RFC 6120 §11.6 reads as a character): {@code not-well-formed};
 *   <li>an XML declaration with an encoding other than UTF-8 (RFC 6120 §11.6), which Aalto would
 *       obey: {@code unsupported-encoding};
 *   <li>a DTD, an entity reference (in text or in an attribute value), a comment or a processing
 *       instruction: {@code restricted-xml} (nothing is ever expanded: the DTD is refused when it
 *       ends, before any use);
 *   <li>a stanza (or a stream header) of more than {@code max-stanza-bytes}, or elements nested
 *       deeper than {@code max-depth}: {@code policy-violation}. Text between stanzas (whitespace
 *       keepalives) is dropped as it is read and counts toward no stanza;
 *   <li>a root that is not {@code <stream:stream>} (over WebSocket: not the one the framing handler
 *       makes of an {@code <open/>} message): {@code invalid-namespace}.
 * </ul>
 *
 * Only the stanza being read is held (its element tree, and Aalto's buffer of a token not complete
 * yet); a buffer read is released once it is read through.
 *
 * <p>While the session answers an element asynchronously (SASL, a stream resumption), it
 * {@linkplain #hold holds} the decoder: what came after that element in the same read, and every
 * read until the answer (the session pauses reads meanwhile, so that is one read's worth), waits
 * undecoded, in order. The session then either {@linkplain #resume resumes} the same stream with it
 * (a SASL failure: RFC 6120 §6.4.5, the client may try again) or {@linkplain #restartAfterHeld
 * starts a new stream} with it, from the byte after the element (SASL success, RFC 6120 §6.4.6:
 * what follows the client's {@code </auth>} is the new stream, a pipelined header included,
 * XEP-0305). {@link #reset} starts a new parser and drops what is left of the input: STARTTLS,
 * where the bytes after {@code <starttls/>} in the same read came in clear text and must not be
 * read as part of the encrypted stream (RFC 6120 §5.4.3.3; the STARTTLS command injection of
 * CVE-2011-0411).
 */
final class StanzaDecoder extends ChannelInboundHandlerAdapter {
  static final String STREAMS_NS = "http://etherx.jabber.org/streams";

  /** The stream header's attributes (qualified names) and its default namespace. */
  record StreamOpen(Map<String, String> attributes, String defaultNamespace) {}

  /** The peer's {@code </stream:stream>}. */
  static final Object STREAM_CLOSE = new Object();

  /** What ends the stream: the RFC 6120 stream error condition and a text for the peer. */
  record Problem(String condition, String text) {}

  private static final AsyncXMLInputFactory FACTORY = factory();

  /** The text of {@code restricted-xml}. */
  private static final String RESTRICTED = "no DTDs, entities, comments or processing instructions";

  /** The text of {@code unsupported-encoding}. */
  private static final String UTF8_ONLY = "XMPP streams are UTF-8 only (RFC 6120 §11.6)";

  private final int maxStanzaBytes;
  private final int maxDepth;

  /**
   * Over WebSocket (RFC 7395): the root is {@link #FRAMED_ROOT}, which the framing handler makes of
   * an {@code <open/>} message, never a {@code <stream:stream>} the client sent.
   */
  private final boolean framed;

  private AsyncXMLStreamReader<AsyncByteBufferFeeder> reader;
  private final Utf8Stream utf8 = new Utf8Stream();
  private long fed;
  private long boundary;
  private int depth;
  private XmlElement[] open;
  private boolean failed;
  private ChannelHandlerContext ctx;

  /** The session answers the last element asynchronously: nothing more is decoded until then. */
  private boolean holding;

  /**
   * The read whose decoding stopped at a {@link #hold} ({@code null} when none): its first {@link
   * #currentValid} bytes were fed to the parser, which has not read all of them yet; from the
   * stream's byte {@link #currentStart} on.
   */
  private ByteBuf current;

  private long currentStart;
  private int currentValid;

  /** Where the element the decoding stopped at ends, in the stream's bytes. */
  private long heldAt;

  /** The reads that came while holding, undecoded, or {@code null}. */
  private ByteBuf held;

  /**
   * The root the framing handler of XMPP over WebSocket gives the stream ({@link
   * XmppWebSocket.Framing}): {@code open} in the RFC 7395 framing namespace.
   */
  static final String FRAMED_ROOT = "open";

  StanzaDecoder(int maxStanzaBytes, int maxDepth) {
    this(maxStanzaBytes, maxDepth, false);
  }

  /**
   * A decoder whose stream root is {@code <stream:stream>} or, when {@code framed} (XMPP over
   * WebSocket), {@link #FRAMED_ROOT} in {@link XmppWebSocket#FRAMING_NS}.
   */
  StanzaDecoder(int maxStanzaBytes, int maxDepth, boolean framed) {
    this.maxStanzaBytes = maxStanzaBytes;
    this.maxDepth = maxDepth;
    this.framed = framed;
    this.open = new XmlElement[maxDepth + 2];
    reset();
  }

  private static AsyncXMLInputFactory factory() {
    AsyncXMLInputFactory f = new InputFactoryImpl();
    f.setProperty(XMLInputFactory.SUPPORT_DTD, Boolean.FALSE);
    f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, Boolean.FALSE);
    f.setProperty(XMLInputFactory.IS_REPLACING_ENTITY_REFERENCES, Boolean.FALSE);
    f.setProperty(XMLInputFactory.IS_COALESCING, Boolean.FALSE);
    return f;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Starts a new stream: what is left of the current input is dropped, unread (STARTTLS: it came in
   * clear text).
   */
  void reset() {
    holding = false;
    releaseHeld();
    newParser();
  }

  /**
   * Decodes nothing more until {@link #resume} or {@link #restartAfterHeld}: called by the session
   * while it reads an element (the decoder stops right after it).
   */
  void hold() {
    holding = true;
  }

  /** Goes on with the same stream after a {@link #hold}: what waited is decoded now, in order. */
  void resume() {
    if (!holding) {
      return;
    }
    holding = false;
    ByteBuf cur = current;
    current = null;
    ByteBuf next = held;
    held = null;
    if (cur != null) {
      decodeRest(cur);
    }
    if (next == null) {
      return;
    }
    if (failed) {
      next.release();
    } else if (holding) {
      // The rest of cur had another element the session answers asynchronously.
      keep(next);
    } else {
      decode(next);
    }
  }

  /**
   * Starts a new stream after a {@link #hold}: the bytes after the held element, and those that
   * waited, are the new stream's first (RFC 6120 §6.4.6), decoded now.
   */
  void restartAfterHeld() {
    if (!holding) {
      newParser();
      return;
    }
    holding = false;
    ByteBuf rest = null;
    if (current != null) {
      int from = (int) (heldAt - currentStart);
      int left = current.readableBytes() - from;
      if (left > 0 || held != null) {
        rest = ctx.alloc().buffer(left + (held == null ? 0 : held.readableBytes()));
        rest.writeBytes(current, current.readerIndex() + from, left);
      }
    }
    if (held != null) {
      if (rest == null) {
        rest = held;
        held = null;
      } else {
        rest.writeBytes(held);
      }
    }
    releaseHeld();
    newParser();
    if (rest != null) {
      decode(rest);
    }
  }

  private void releaseHeld() {
    if (current != null) {
      current.release();
      current = null;
    }
    if (held != null) {
      held.release();
      held = null;
    }
  }

  /** Adds {@code buf} (owned here now) to what waits. */
  private void keep(ByteBuf buf) {
    if (held == null) {
      held = buf;
      return;
    }
    ByteBuf all = ctx.alloc().buffer(held.readableBytes() + buf.readableBytes());
    all.writeBytes(held).writeBytes(buf);
    held.release();
    buf.release();
    held = all;
  }

  private void newParser() {
    if (reader != null) {
      try {
        reader.close();
      } catch (XMLStreamException e) {
        // Nothing is held that closing could fail to free.
      }
    }
    reader = FACTORY.createAsyncForByteBuffer();
    utf8.reset();
    fed = 0;
    boundary = 0;
    depth = 0;
    java.util.Arrays.fill(open, null);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (failed || !buf.isReadable() || (holding && Backpressure.isClosing(ctx.channel()))) {
      // Once the stream ends (a stream error while an answer was awaited) reads resume and nothing
      // more is decoded: held, they would pile up until the close.
      buf.release();
    } else if (holding) {
      keep(buf);
    } else {
      decode(buf);
    }
  }

  /** Decodes {@code buf} (owned here): released once read through, kept if a hold stops it. */
  private void decode(ByteBuf buf) {
    boolean keep = false;
    try {
      if (failed) {
        return;
      }
      if (depth == 0 && declarationBeforeRoot(buf)) {
        // A DTD or a comment before the stream header: refused before the parser sees it.
        fail(ctx, "restricted-xml", RESTRICTED);
        return;
      }
      if (fed == 0 && startsWithBom(buf)) {
        // RFC 6120 §11.6: U+FEFF is never a byte order mark in XMPP, so here it is a character
        // before the root, which XML does not allow.
        fail(
            ctx,
            "not-well-formed",
            "U+FEFF (a byte order mark) before the stream header: XMPP is UTF-8 without one");
        return;
      }
      AsyncXMLStreamReader<AsyncByteBufferFeeder> r = reader;
      // What comes before bytes that are not UTF-8 is read first: stanzas complete before them
      // are served, then the stream ends.
      int valid = utf8.validPrefix(buf);
      long start = fed;
      if (valid > 0) {
        // A buffer of its own (position 0): Aalto counts the stream's bytes from its position.
        ByteBuffer nio = buf.nioBuffer(buf.readerIndex(), valid).slice();
        fed += nio.remaining();
        try {
          r.getInputFeeder().feedInput(nio);
          drain(ctx, r);
        } catch (XMLStreamException | RuntimeException e) {
          failParsing(ctx, e);
        }
      }
      if (holding && r == reader && !failed) {
        // Aalto reads from buf until it is fed again: kept until the session's answer.
        current = buf;
        currentStart = start;
        currentValid = valid;
        keep = true;
        return;
      }
      // After a reset (STARTTLS) the rest of this input was dropped, unread.
      if (valid < buf.readableBytes() && r == reader) {
        fail(ctx, "not-well-formed", "invalid UTF-8");
      }
    } finally {
      if (!keep) {
        buf.release();
      }
    }
  }

  /**
   * Reads the rest of {@code buf}, the {@link #current} read a hold stopped, as {@link #decode}.
   */
  private void decodeRest(ByteBuf buf) {
    boolean keep = false;
    try {
      AsyncXMLStreamReader<AsyncByteBufferFeeder> r = reader;
      try {
        drain(ctx, r);
      } catch (XMLStreamException | RuntimeException e) {
        failParsing(ctx, e);
      }
      if (holding && r == reader && !failed) {
        current = buf;
        keep = true;
        return;
      }
      if (currentValid < buf.readableBytes() && r == reader) {
        fail(ctx, "not-well-formed", "invalid UTF-8");
      }
    } finally {
      if (!keep) {
        buf.release();
      }
    }
  }

  /** Reads events until the parser needs more input, the stream failed or was reset. */
  private void drain(ChannelHandlerContext ctx, AsyncXMLStreamReader<AsyncByteBufferFeeder> r)
      throws XMLStreamException {
    while (!failed && r == reader && !holding) {
      int ev = r.next();
      if (ev == AsyncXMLStreamReader.EVENT_INCOMPLETE) {
        // All that was fed is read: what came since the boundary is the part of a stanza (or of
        // a token) read so far, held by the tree or the parser.
        tooLarge(ctx, fed);
        return;
      }
      if (depth == 1
          && (ev == XMLStreamConstants.CHARACTERS
              || ev == XMLStreamConstants.SPACE
              || ev == XMLStreamConstants.CDATA)) {
        // Text between stanzas (whitespace keepalives), handed over by Aalto as far as it was
        // fed, is dropped and moves the boundary: it never counts toward a stanza's size.
        boundary = r.getLocationInfo().getEndingByteOffset();
        continue;
      }
      if (tooLarge(ctx, r.getLocationInfo().getEndingByteOffset())) {
        return;
      }
      switch (ev) {
        case XMLStreamConstants.START_ELEMENT -> start(ctx, r);
        case XMLStreamConstants.END_ELEMENT -> end(ctx, r);
        case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA -> {
          if (depth >= 2) {
            open[depth - 1].appendText(r.getText());
          }
        }
        case XMLStreamConstants.SPACE -> {
          // Ignorable whitespace: none without a DTD.
        }
        case XMLStreamConstants.DTD,
            XMLStreamConstants.ENTITY_REFERENCE,
            XMLStreamConstants.ENTITY_DECLARATION,
            XMLStreamConstants.NOTATION_DECLARATION,
            XMLStreamConstants.COMMENT,
            XMLStreamConstants.PROCESSING_INSTRUCTION ->
            fail(ctx, "restricted-xml", RESTRICTED);
        case XMLStreamConstants.END_DOCUMENT -> {
          fail(ctx, "not-well-formed", "the document ended");
          return;
        }
        case XMLStreamConstants.START_DOCUMENT -> {
          // The XML declaration (or the root, without one). Aalto decodes what follows as the
          // declaration says, so another encoding is refused before anything is read with it.
          String declared = r.getCharacterEncodingScheme();
          if (declared != null && !declared.equalsIgnoreCase("UTF-8")) {
            fail(ctx, "unsupported-encoding", UTF8_ONLY);
          }
        }
        default -> {
          // Nothing else comes from a parser that expands no entities and reads no DTD.
        }
      }
    }
  }

  /**
   * Whether the stanza (or stream header) read up to byte {@code upTo} of the stream is over {@code
   * max-stanza-bytes}: then the stream ends with {@code policy-violation}.
   */
  private boolean tooLarge(ChannelHandlerContext ctx, long upTo) {
    if (upTo - boundary <= maxStanzaBytes) {
      return false;
    }
    fail(ctx, "policy-violation", "stanza larger than " + maxStanzaBytes + " bytes");
    return true;
  }

  private void start(ChannelHandlerContext ctx, AsyncXMLStreamReader<AsyncByteBufferFeeder> r)
      throws XMLStreamException {
    if (depth == 0) {
      if (framed
          ? !FRAMED_ROOT.equals(r.getLocalName())
              || !XmppWebSocket.FRAMING_NS.equals(r.getNamespaceURI())
          : !"stream".equals(r.getLocalName()) || !STREAMS_NS.equals(r.getNamespaceURI())) {
        fail(
            ctx,
            "invalid-namespace",
            framed
                ? "over WebSocket a stream opens with <open xmlns='"
                    + XmppWebSocket.FRAMING_NS
                    + "'/> (RFC 7395), not <stream:stream>"
                : "expected <stream:stream>");
        return;
      }
      Map<String, String> attrs = new HashMap<>();
      for (int i = 0; i < r.getAttributeCount(); i++) {
        attrs.put(
            qualified(r.getAttributePrefix(i), r.getAttributeLocalName(i)), r.getAttributeValue(i));
      }
      String ns = r.getNamespaceContext().getNamespaceURI("");
      depth = 1;
      boundary = r.getLocationInfo().getEndingByteOffset();
      ctx.fireChannelRead(new StreamOpen(attrs, ns == null ? "" : ns));
      return;
    }
    if (depth > maxDepth) {
      fail(ctx, "policy-violation", "elements nested deeper than " + maxDepth);
      return;
    }
    XmlElement e = new XmlElement(r.getLocalName(), r.getNamespaceURI());
    for (int i = 0; i < r.getAttributeCount(); i++) {
      e.attr(
          qualified(r.getAttributePrefix(i), r.getAttributeLocalName(i)), r.getAttributeValue(i));
    }
    if (depth >= 2) {
      open[depth - 1].add(e);
    }
    open[depth] = e;
    depth++;
  }

  private void end(ChannelHandlerContext ctx, AsyncXMLStreamReader<AsyncByteBufferFeeder> r)
      throws XMLStreamException {
    depth--;
    if (depth == 0) {
      ctx.fireChannelRead(STREAM_CLOSE);
      failed = true;
      return;
    }
    XmlElement e = open[depth];
    open[depth] = null;
    if (depth == 1) {
      boundary = r.getLocationInfo().getEndingByteOffset();
      heldAt = boundary;
      ctx.fireChannelRead(e);
    }
  }

  /**
   * A stream the parser could not read: {@code not-well-formed}, but an encoding Aalto does not
   * decode (declared before the START_DOCUMENT event comes) is {@code unsupported-encoding}, and an
   * entity reference in an attribute value (which Aalto refuses, where in text it reports an
   * ENTITY_REFERENCE event) {@code restricted-xml}, as in text. Aalto's messages tell them apart
   * (XmppBadInputTest fails should they change).
   */
  private void failParsing(ChannelHandlerContext ctx, Exception e) {
    String message = e.getMessage();
    if (message != null && message.startsWith("Unsupported encoding")) {
      fail(ctx, "unsupported-encoding", UTF8_ONLY);
    } else if (message != null && message.startsWith("Unexpanded ENTITY_REFERENCE")) {
      fail(ctx, "restricted-xml", RESTRICTED);
    } else {
      fail(ctx, "not-well-formed", oneLine(message));
    }
  }

  private static boolean startsWithBom(ByteBuf buf) {
    int i = buf.readerIndex();
    return buf.readableBytes() >= 3
        && buf.getUnsignedByte(i) == 0xEF
        && buf.getUnsignedByte(i + 1) == 0xBB
        && buf.getUnsignedByte(i + 2) == 0xBF;
  }

  private void fail(ChannelHandlerContext ctx, String condition, String text) {
    if (failed) {
      return;
    }
    failed = true;
    java.util.Arrays.fill(open, null);
    ctx.fireChannelRead(new Problem(condition, text));
  }

  /** Whether {@code buf} has {@code <!} (a DOCTYPE, a comment) before the root's start tag. */
  private static boolean declarationBeforeRoot(ByteBuf buf) {
    int end = buf.writerIndex() - 1;
    for (int i = buf.readerIndex(); i < end; i++) {
      if (buf.getByte(i) == '<') {
        byte next = buf.getByte(i + 1);
        if (next == '!') {
          return true;
        }
        if (next != '?') {
          return false;
        }
      }
    }
    return false;
  }

  private static String qualified(String prefix, String local) {
    return prefix == null || prefix.isEmpty() ? local : prefix + ":" + local;
  }

  private static String oneLine(String s) {
    if (s == null) {
      return "malformed XML";
    }
    String one = s.replace('\n', ' ');
    return one.length() <= 120 ? one : one.substring(0, 120);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    failed = true;
    holding = false;
    releaseHeld();
    java.util.Arrays.fill(open, null);
  }
}
