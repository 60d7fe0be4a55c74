package org.presence.gateway.xmpp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.updates.AppUpdates;
import org.presence.gateway.updates.UpdateFeed;
import org.presence.gateway.updates.UpdateFormat;
import org.presence.gateway.updates.UpdateSink;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.app.AppFrames.SnapshotEntry;
import org.presence.protocol.app.AppFrames.Update;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.SecureRandoms;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.Application;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code xmpp-session} handler of one XMPP connection (docs/xmpp.md): the RFC 6120 negotiation
 * (stream header, STARTTLS required, SASL PLAIN with the application's id and API key, resource
 * binding), then an application's session: its roster (RFC 6121) on request, after its initial
 * presence its users' presence (the update channel's {@link UpdateFeed}: a snapshot, then every
 * change, holding a position rather than a queue when the connection does not read), keepalive
 * pings (XEP-0199) both ways, and headline messages as live notifications ({@link
 * XmppNotifications}).
 *
 * <p>Whatever the peer does wrong ends in the RFC 6120 stream error (then {@code </stream:stream>}
 * and, after the peer's own close or the linger, the socket) or, for one stanza, a stanza error.
 * All methods run on the connection's event loop.
 */
@OnEventLoop
final class XmppSession extends ChannelInboundHandlerAdapter implements UpdateSink, UpdateFormat {
  private static final Logger LOG = LoggerFactory.getLogger(XmppSession.class);

  static final String CLIENT_NS = "jabber:client";
  static final String TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
  static final String SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";
  static final String BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind";

  private static final Pattern WHITE_SPACE = Pattern.compile("[ \t\r\n]+");

  /** The most characters (code points) of a resource a client binds. */
  static final int MAX_RESOURCE_CHARACTERS = 256;

  static final String SESSION_NS = "urn:ietf:params:xml:ns:xmpp-session";
  static final String STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";
  static final String STREAM_ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-streams";
  static final String ROSTER_NS = "jabber:iq:roster";
  static final String PING_NS = "urn:xmpp:ping";
  static final String DISCO_INFO_NS = "http://jabber.org/protocol/disco#info";
  static final String RECEIPTS_NS = "urn:xmpp:receipts";
  static final String PRESENCE_RECEIPTS_NS = "urn:presence:receipts";

  /** Notification ids remembered per session to answer receipts with the message's own id. */
  private static final int REMEMBERED_IDS = 1000;

  private enum Phase {
    /** Waiting for the stream header. */
    HEADER,
    /** Stream open, features sent. */
    OPEN,
    /**
     * A SASL check or a stream resumption is under way (reads paused, what came after it held
     * undecoded by the decoder).
     */
    AUTHENTICATING,
    /** The stream is ending: what arrives is dropped. */
    CLOSED
  }

  private final XmppServer node;
  private ChannelHandlerContext ctx;
  private Phase phase = Phase.HEADER;
  private boolean tls;
  private boolean authenticated;
  private int authFailures;
  private AppUpdates.Admission admission;
  private long appId;
  private String fullJid;
  private boolean available;
  private UpdateFeed feed;
  private ScheduledFuture<?> authTimer;
  private ScheduledFuture<?> pingTimer;
  private long lastReadNanos;
  private boolean pinged;
  private boolean headerSent;
  private int nextId;

  /** The roster pushes under way: each waits for the one before ({@link #rosterPush}). */
  private CompletionStage<Void> pushes = CompletableFuture.completedFuture(null);

  /** Stream management (XEP-0198) once enabled or resumed, else {@code null}. */
  private StreamManagement sm;

  /** A snapshot is being written (its last page not yet). */
  private boolean inSnapshot;

  /** The last update number this session's stanzas carry (or its snapshot's), -1 before. */
  private long lastSeq = -1;

  /**
   * The session's stream management state went to a resuming session, or the client closed its
   * stream: it must not detach.
   */
  private boolean handedOver;

  /**
   * Delivered or missed receipts that arrived before the notification's post was answered (a device
   * that is connected can receive and acknowledge a notification before the accept returns here):
   * notification id to the PUID, oldest first. {@link #posted} sends their XEP-0184 answer.
   */
  private final Map<String, String> earlyReceipts =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > REMEMBERED_IDS;
        }
      };

  /** Notification id to the id of the message that posted it, oldest first. */
  private final Map<String, String> messageIds =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > REMEMBERED_IDS;
        }
      };

  /** {@code directTls}: the connection is TLS from its first byte (XEP-0368), no STARTTLS. */
  XmppSession(XmppServer node, boolean directTls) {
    this.node = node;
    this.tls = directTls;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    lastReadNanos = System.nanoTime();
    authTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (fullJid == null) {
                    streamError("connection-timeout", "not authenticated and bound in time");
                  }
                },
                node.config().authTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
    long ping = node.pingInterval().toMillis();
    pingTimer =
        ctx.executor().scheduleWithFixedDelay(this::keepalive, ping, ping, TimeUnit.MILLISECONDS);
  }

  long appId() {
    return appId;
  }

  /** The session's admission (its application and the key it authenticated with), or null. */
  AppUpdates.Admission admission() {
    return admission;
  }

  boolean bound() {
    return fullJid != null && phase != Phase.CLOSED;
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    lastReadNanos = System.nanoTime();
    pinged = false;
    if (msg == StanzaDecoder.STREAM_CLOSE) {
      // The client ended its stream: the session ends with it, not resumable (XEP-0198 5).
      handedOver |= sm != null;
      if (phase != Phase.CLOSED) {
        phase = Phase.CLOSED;
        ctx.writeAndFlush(utf8("</stream:stream>"));
      }
      ctx.close();
      return;
    }
    if (phase == Phase.CLOSED) {
      return;
    }
    if (msg instanceof StanzaDecoder.Problem p) {
      streamError(p.condition(), p.text());
    } else if (msg instanceof StanzaDecoder.StreamOpen open) {
      streamOpened(open);
    } else if (msg instanceof XmlElement e) {
      node.stanzasIn().inc();
      if (sm != null && CLIENT_NS.equals(e.namespace())) {
        sm.received();
      }
      if (phase == Phase.OPEN) {
        try {
          element(e);
        } catch (RuntimeException x) {
          LOG.warn("xmpp session of app {} failed on a stanza", appId, x);
          streamError("internal-server-error", null);
        }
      }
    } else {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  private void streamOpened(StanzaDecoder.StreamOpen open) {
    if (phase != Phase.HEADER) {
      streamError("not-well-formed", "a second stream header");
      return;
    }
    sendHeader();
    if (!CLIENT_NS.equals(open.defaultNamespace())) {
      streamError("invalid-namespace", "the content namespace must be jabber:client");
      return;
    }
    String to = open.attributes().get("to");
    if (to != null && !to.equalsIgnoreCase(node.domain())) {
      streamError("host-unknown", "this server serves " + node.domain());
      return;
    }
    String version = open.attributes().get("version");
    if (version == null || !version.startsWith("1.")) {
      streamError("unsupported-version", "XMPP 1.0 only");
      return;
    }
    phase = Phase.OPEN;
    StringBuilder f = new StringBuilder(256).append("<stream:features>");
    if (!tls) {
      f.append("<starttls xmlns='").append(TLS_NS).append("'><required/></starttls>");
    } else if (!authenticated) {
      f.append("<mechanisms xmlns='")
          .append(SASL_NS)
          .append("'><mechanism>PLAIN</mechanism></mechanisms>");
    } else {
      f.append("<bind xmlns='").append(BIND_NS).append("'/>");
      f.append("<session xmlns='").append(SESSION_NS).append("'><optional/></session>");
      f.append("<sm xmlns='").append(StreamManagement.NS).append("'/>");
    }
    f.append("</stream:features>");
    ctx.writeAndFlush(utf8(f), ctx.voidPromise());
  }

  private void sendHeader() {
    if (headerSent) {
      return;
    }
    headerSent = true;
    StringBuilder h =
        new StringBuilder(256)
            .append("<?xml version='1.0'?><stream:stream xmlns='jabber:client'")
            .append(" xmlns:stream='http://etherx.jabber.org/streams' id='")
            .append(randomId(9))
            .append("' from='");
    Xml.escape(h, node.domain()).append("' version='1.0' xml:lang='en'>");
    ctx.write(utf8(h), ctx.voidPromise());
  }

  private void element(XmlElement e) {
    if (!tls) {
      if (e.is("starttls", TLS_NS)) {
        startTls();
      } else {
        streamError("policy-violation", "STARTTLS is required first");
      }
      return;
    }
    if (!authenticated) {
      if (e.is("auth", SASL_NS)) {
        auth(e);
      } else if (e.is("abort", SASL_NS)) {
        // RFC 6120 §6.4.4. An aborted attempt counts as a failed one for the stream
        // (xmpp.max-auth-failures), so that aborts in a loop end it as wrong keys do; not for the
        // address, as it guesses no key.
        saslFailure("aborted", null, false);
      } else {
        streamError("not-authorized", "authenticate first");
      }
      return;
    }
    if (StreamManagement.NS.equals(e.namespace())) {
      streamManagement(e);
      return;
    }
    if (!CLIENT_NS.equals(e.namespace())) {
      streamError("unsupported-stanza-type", null);
      return;
    }
    switch (e.name()) {
      case "iq" -> iq(e);
      case "presence" -> {
        if (fullJid == null) {
          streamError("not-authorized", "bind a resource first");
        } else {
          presence(e);
        }
      }
      case "message" -> {
        if (fullJid == null) {
          streamError("not-authorized", "bind a resource first");
        } else {
          node.notifications().message(this, e);
        }
      }
      default -> streamError("unsupported-stanza-type", null);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Negotiation

  private void startTls() {
    SslHandler ssl = node.tls().newHandler(ctx.alloc());
    // startTls: the <proceed/> below leaves in clear text; everything after is encrypted.
    ssl = new SslHandler(ssl.engine(), true);
    ctx.pipeline().addAfter(PipelineNames.BACKPRESSURE, XmppServer.TLS, ssl);
    node.decoder(ctx).reset();
    phase = Phase.HEADER;
    headerSent = false;
    tls = true;
    ctx.writeAndFlush(utf8("<proceed xmlns='" + TLS_NS + "'/>"), ctx.voidPromise());
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
      node.tlsFailures().inc();
      phase = Phase.CLOSED;
      ctx.close();
    }
    super.userEventTriggered(ctx, evt);
  }

  private void auth(XmlElement e) {
    if (!"PLAIN".equals(e.attr("mechanism"))) {
      saslFailure("invalid-mechanism", null);
      return;
    }
    java.net.InetAddress from = clientAddress();
    if (from != null && !node.mayAuthenticate(from)) {
      saslFailure("temporary-auth-failure", "too many failed attempts from this address");
      streamError("policy-violation", "too many failed authentication attempts");
      return;
    }
    // Base64 of RFC 4648 §4 (RFC 6120 §6.4.2): a character outside its alphabet is
    // incorrect-encoding (§6.5.2); the MIME decoder skipped them, so "!!!" was read as no bytes.
    // XML white space (a wrapped line) is the only thing left out.
    String payload = WHITE_SPACE.matcher(e.text()).replaceAll("");
    byte[] raw;
    try {
      raw = payload.equals("=") ? new byte[0] : Base64.getDecoder().decode(payload);
    } catch (IllegalArgumentException x) {
      saslFailure("incorrect-encoding", null);
      return;
    }
    // RFC 4616: UTF-8, three parts; bytes that are not UTF-8 are refused, never read with
    // replacement characters.
    String[] parts =
        org.presence.protocol.json.Utf8.isValid(raw, 0, raw.length)
            ? new String(raw, StandardCharsets.UTF_8).split("\0", -1)
            : new String[0];
    if (parts.length != 3) {
      saslFailure("malformed-request", "PLAIN: authzid NUL authcid NUL password");
      return;
    }
    String authcid = localpart(parts[1]);
    String authzid = parts[0].isEmpty() ? authcid : localpart(parts[0]);
    if (authcid == null || !authcid.equals(authzid)) {
      saslFailure(authcid == null ? "not-authorized" : "invalid-authzid", null);
      return;
    }
    long id;
    try {
      // As on every route and the update channel: digits without a leading zero or a sign, else
      // no application (0101 is not app 101), answered as an unknown application is.
      id = AppsApi.parseAppId(authcid);
    } catch (ProtocolException x) {
      saslFailure("not-authorized", null);
      return;
    }
    phase = Phase.AUTHENTICATING;
    Backpressure.pause(ctx.channel(), Backpressure.BUSY);
    // What the client sent after the <auth/> waits for its answer (a new stream after success).
    node.decoder(ctx).hold();
    node.updates()
        .admitApp(id, parts[2])
        .whenCompleteAsync((a, x) -> admitted(id, a, x), ctx.executor());
  }

  /** {@code 17} or {@code 17@domain}; {@code null} for another domain or a resource. */
  private String localpart(String id) {
    int at = id.indexOf('@');
    if (at < 0) {
      return id.indexOf('/') < 0 ? id : null;
    }
    return id.substring(at + 1).equalsIgnoreCase(node.domain()) ? id.substring(0, at) : null;
  }

  private void admitted(long id, AppUpdates.Admission a, Throwable failure) {
    if (phase != Phase.AUTHENTICATING || !ctx.channel().isActive()) {
      if (a != null) {
        a.release();
      }
      return;
    }
    phase = Phase.OPEN;
    Backpressure.resume(ctx.channel(), Backpressure.BUSY);
    if (failure != null) {
      Throwable t =
          failure instanceof CompletionException && failure.getCause() != null
              ? failure.getCause()
              : failure;
      ErrorCode code = t instanceof ProtocolException pe ? pe.code() : ErrorCode.SESSION_ABORTED;
      if (!(t instanceof ProtocolException)) {
        LOG.warn("xmpp authentication of app {} failed", id, t);
      }
      switch (code) {
        case APP_NOT_ACTIVE -> saslFailure("account-disabled", "the application is not active");
        case TOO_MANY_APP_CONNECTIONS, TOO_MANY_APP_RECONNECTS, BACKEND_UNAVAILABLE ->
            saslFailure("temporary-auth-failure", code.reasonWith(null));
        default -> saslFailure("not-authorized", null);
      }
      // RFC 6120 §6.4.5: the same stream goes on, with what the client sent after the <auth/>.
      node.decoder(ctx).resume();
      return;
    }
    admission = a;
    appId = id;
    authenticated = true;
    Connections.authenticated(ctx.channel());
    node.sessionOpened(this);
    // A regeneration or a deactivation heard between the key check and the line above found no
    // session to end: the application as it is now decides.
    node.app(id)
        .whenCompleteAsync(
            (app, x) -> {
              if (x == null) {
                endIfRevoked(app);
              }
            },
            ctx.executor());
    if (node.socketSendBuffer() > 0) {
      ctx.channel().config().setOption(ChannelOption.SO_SNDBUF, node.socketSendBuffer());
    }
    phase = Phase.HEADER;
    headerSent = false;
    ctx.writeAndFlush(utf8("<success xmlns='" + SASL_NS + "'/>"), ctx.voidPromise());
    // RFC 6120 §6.4.6: the bytes after the client's </auth> are the new stream's (its header may
    // have come with the <auth/>, XEP-0305).
    node.decoder(ctx).restartAfterHeld();
  }

  private java.net.InetAddress clientAddress() {
    return ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
        ? a.getAddress()
        : null;
  }

  private void saslFailure(String condition, String text) {
    saslFailure(condition, text, !"temporary-auth-failure".equals(condition));
  }

  /** {@code perAddress}: the failure also takes one of the client address's attempts. */
  private void saslFailure(String condition, String text, boolean perAddress) {
    node.authFailures().inc();
    java.net.InetAddress from = clientAddress();
    if (from != null && perAddress) {
      node.authFailed(from);
    }
    StringBuilder s =
        new StringBuilder(128).append("<failure xmlns='").append(SASL_NS).append("'><");
    s.append(condition).append("/>");
    if (text != null) {
      Xml.escape(s.append("<text xml:lang='en'>"), text).append("</text>");
    }
    s.append("</failure>");
    ctx.writeAndFlush(utf8(s), ctx.voidPromise());
    if (++authFailures >= node.config().maxAuthFailures()) {
      streamError("policy-violation", "too many failed authentication attempts");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Stream management (XEP-0198)

  private void streamManagement(XmlElement e) {
    switch (e.name()) {
      case "enable" -> enable(e);
      case "resume" -> resume(e);
      case "r" -> {
        if (sm == null) {
          streamError("unsupported-stanza-type", "stream management is not enabled");
        } else {
          writeNonza("<a xmlns='" + StreamManagement.NS + "' h='" + sm.handledIn + "'/>");
        }
      }
      case "a" -> {
        if (sm == null) {
          streamError("unsupported-stanza-type", "stream management is not enabled");
          return;
        }
        long h = StreamManagement.parseH(e.attr("h"));
        if (h < 0) {
          // RFC 6120 §4.9.3.11: the element is not what its schema says (xs:unsignedInt).
          streamError("invalid-xml", StreamManagement.BAD_H);
          return;
        }
        long abs = sm.absolute(h);
        if (abs < 0) {
          streamError("undefined-condition", "acknowledged more stanzas than were sent");
          return;
        }
        sm.acked(abs);
      }
      default -> streamError("unsupported-stanza-type", null);
    }
  }

  private void smFailed(String condition, String text) {
    StringBuilder s = new StringBuilder(192).append("<failed xmlns='").append(StreamManagement.NS);
    s.append("'><").append(condition).append(" xmlns='").append(STANZAS_NS).append("'/>");
    if (text != null) {
      s.append("<text xmlns='").append(STANZAS_NS).append("' xml:lang='en'>");
      Xml.escape(s, text).append("</text>");
    }
    writeNonza(s.append("</failed>"));
  }

  private void enable(XmlElement e) {
    if (fullJid == null || sm != null) {
      smFailed("unexpected-request", fullJid == null ? "bind a resource first" : "enabled already");
      return;
    }
    String resume = e.attr("resume");
    boolean resumable = "true".equals(resume) || "1".equals(resume);
    sm = new StreamManagement(resumable ? randomId(18) : null, appId, fullJid);
    sm.available = available;
    // What was sent before is outside stream management: a resumption continues after it.
    sm.floor = feed != null && !inSnapshot ? lastSeq : -1;
    StringBuilder s = new StringBuilder(160).append("<enabled xmlns='").append(StreamManagement.NS);
    if (resumable) {
      node.resumable(sm.id, this);
      s.append("' id='").append(sm.id).append("' resume='true' max='");
      s.append(node.resumeWindow().toSeconds());
    }
    writeNonza(s.append("'/>"));
  }

  /** Asks for an acknowledgement (appended to {@code s}) when enough stanzas wait for one. */
  private void maybeRequestAck(StringBuilder s) {
    if (!sm.ackRequested && sm.sentOut - sm.ackedOut >= StreamManagement.ACK_WINDOW) {
      sm.ackRequested = true;
      s.append("<r xmlns='").append(StreamManagement.NS).append("'/>");
    }
  }

  private void resume(XmlElement e) {
    if (fullJid != null || sm != null) {
      smFailed("unexpected-request", "resume before binding a resource");
      return;
    }
    String previd = e.attr("previd");
    if (previd == null || e.attr("h") == null) {
      smFailed("bad-request", "resume has previd and h");
      return;
    }
    long h = StreamManagement.parseH(e.attr("h"));
    if (h < 0) {
      // Like a resume without h: the stream goes on, the client may bind instead.
      smFailed("bad-request", StreamManagement.BAD_H);
      return;
    }
    phase = Phase.AUTHENTICATING;
    Backpressure.pause(ctx.channel(), Backpressure.BUSY);
    // What the client sent after the <resume/> (a bind, should it fail) waits for its answer.
    node.decoder(ctx).hold();
    node.takeResumable(previd, appId, h)
        .whenCompleteAsync(
            (taken, x) -> {
              StreamManagement state = taken == null ? null : taken.state();
              if (phase != Phase.AUTHENTICATING || !ctx.channel().isActive()) {
                if (state != null) {
                  node.detach(state);
                }
                return;
              }
              phase = Phase.OPEN;
              Backpressure.resume(ctx.channel(), Backpressure.BUSY);
              if (state == null) {
                node.resumeFailures().inc();
                if (taken != null && taken.tooHigh()) {
                  smFailed("undefined-condition", "h is more than the session sent");
                } else {
                  smFailed(
                      "item-not-found", "no such session to resume (expired or on another node)");
                }
              } else {
                resumed(state, h);
              }
              node.decoder(ctx).resume();
            },
            ctx.executor());
  }

  private void resumed(StreamManagement state, long h) {
    state.resumeFrom(state.absolute(h));
    sm = state;
    fullJid = state.fullJid;
    authTimer.cancel(false);
    node.jidBound(fullJid, this);
    node.resumable(state.id, this);
    node.resumed().inc();
    writeNonza(
        "<resumed xmlns='"
            + StreamManagement.NS
            + "' h='"
            + state.handledIn
            + "' previd='"
            + state.id
            + "'/>");
    if (state.available) {
      available = true;
      feed =
          state.floor < 0
              ? admission.startFeed(this, this)
              : admission.startFeedAfter(this, this, state.floor);
    }
  }

  /**
   * Another connection resumes this session, acknowledging {@code h}: its stream management state
   * goes there, and this connection (if still open) ends with {@code conflict}. When {@code h} is
   * more than this session sent, nothing changes ({@link XmppServer.Taken#TOO_HIGH}). Runs on this
   * session's event loop.
   */
  XmppServer.Taken handOver(long h) {
    if (handedOver || sm == null) {
      return XmppServer.Taken.NONE;
    }
    StreamManagement state = sm;
    if (state.absolute(h) < 0) {
      node.resumable(state.id, this);
      if (!ctx.channel().isActive()) {
        node.detach(state);
      }
      return XmppServer.Taken.TOO_HIGH;
    }
    handedOver = true;
    node.forget(state);
    if (ctx.channel().isActive()) {
      streamError("conflict", "the session was resumed on another connection");
    }
    return new XmppServer.Taken(state, false);
  }

  // ---------------------------------------------------------------------------------------------
  // IQs

  private void iq(XmlElement e) {
    String type = e.attr("type");
    String id = e.attr("id");
    if ("result".equals(type) || "error".equals(type)) {
      return;
    }
    if (id == null || !("get".equals(type) || "set".equals(type)) || e.children().size() != 1) {
      stanzaError(e, "modify", "bad-request", "an iq get or set has an id and one child");
      return;
    }
    XmlElement q = e.children().get(0);
    String to = e.attr("to");
    if (to != null && !Jid.valid(to)) {
      // Not echoed as the answer's from: it is no JID (RFC 7622 §3: parts of 1023 bytes at most).
      stanzaError("iq", id, null, "modify", "jid-malformed", "to: not a JID");
      return;
    }
    if (to != null && !to.equalsIgnoreCase(node.domain()) && !isOwnJid(to)) {
      stanzaError(e, "cancel", "service-unavailable", null);
      return;
    }
    if (fullJid == null) {
      if ("set".equals(type) && q.is("bind", BIND_NS)) {
        bind(e, q);
      } else {
        streamError("not-authorized", "bind a resource first");
      }
      return;
    }
    if (q.is("session", SESSION_NS)) {
      result(id, null);
    } else if (q.is("ping", PING_NS) && "get".equals(type)) {
      result(id, to, null);
    } else if (q.is("query", ROSTER_NS)) {
      if ("get".equals(type)) {
        roster(id);
      } else {
        stanzaError(e, "auth", "forbidden", "users manage what they share");
      }
    } else if (q.is("query", DISCO_INFO_NS) && "get".equals(type)) {
      result(
          id,
          to,
          "<query xmlns='"
              + DISCO_INFO_NS
              + "'><identity category='server' type='im' name='Presence'/>"
              + "<feature var='"
              + DISCO_INFO_NS
              + "'/><feature var='"
              + PING_NS
              + "'/><feature var='"
              + RECEIPTS_NS
              + "'/><feature var='jabber:x:oob'/></query>");
    } else if (q.is("bind", BIND_NS)) {
      stanzaError(e, "cancel", "not-allowed", "a resource is bound already");
    } else {
      stanzaError(e, "cancel", "service-unavailable", null);
    }
  }

  private boolean isOwnJid(String jid) {
    return jid.equalsIgnoreCase(appId + "@" + node.domain())
        || (fullJid != null && jid.equals(fullJid));
  }

  private void bind(XmlElement iq, XmlElement bind) {
    XmlElement r = bind.child("resource", BIND_NS);
    String resource = r == null ? "" : r.text().strip();
    if (resource.isEmpty()) {
      resource = "r" + randomId(6);
    } else if (resource.codePointCount(0, resource.length()) > MAX_RESOURCE_CHARACTERS
        || Jid.utf8Length(resource) > Jid.MAX_PART_BYTES
        || !resource.codePoints().allMatch(Jid::visible)) {
      // Characters are code points (an emoji is one, not two UTF-16 units); RFC 7622 §3.4 also
      // caps the part at 1023 bytes of UTF-8, which only 256 four-byte characters pass.
      stanzaError(
          iq,
          "modify",
          "bad-request",
          "a resource is 1-256 visible characters, 1023 bytes at most");
      return;
    }
    fullJid = appId + "@" + node.domain() + "/" + resource;
    authTimer.cancel(false);
    node.jidBound(fullJid, this);
    StringBuilder s =
        new StringBuilder(160).append("<bind xmlns='").append(BIND_NS).append("'><jid>");
    Xml.escape(s, fullJid).append("</jid></bind>");
    result(iq.attr("id"), s.toString());
  }

  private void roster(String id) {
    node.app(appId)
        .thenCompose(
            app -> {
              ErrorCode revoked = admission == null ? null : admission.revokedBy(app);
              if (revoked != null) {
                throw new ProtocolException(revoked);
              }
              return node.roster(appId);
            })
        .whenCompleteAsync(
            (items, x) -> {
              if (phase == Phase.CLOSED) {
                return;
              }
              Throwable t =
                  x instanceof CompletionException && x.getCause() != null ? x.getCause() : x;
              if (t instanceof ProtocolException pe) {
                // The key was regenerated or the application deactivated since the login.
                String reason = AppUpdates.reason(pe.code());
                stanzaError("iq", id, null, "auth", condition(pe.code()), reason);
                fail(pe.code(), reason);
                return;
              }
              if (x != null) {
                LOG.warn("roster of app {} unavailable: {}", appId, x.toString());
                stanzaError("iq", id, null, "wait", "internal-server-error", "roster unavailable");
                return;
              }
              StringBuilder s =
                  new StringBuilder(64 + items.size() * 96)
                      .append("<query xmlns='")
                      .append(ROSTER_NS)
                      .append("'>");
              for (XmppServer.RosterItem i : items) {
                rosterItem(s, i, "to");
              }
              result(id, s.append("</query>").toString());
            },
            ctx.executor());
  }

  void rosterItem(StringBuilder s, XmppServer.RosterItem i, String subscription) {
    s.append("<item jid='");
    Xml.escape(s, Jid.localpart(i.puid())).append('@');
    Xml.escape(s, node.domain()).append("' subscription='").append(subscription).append('\'');
    if (i.name() != null && !i.name().isEmpty() && !"remove".equals(subscription)) {
      Xml.escape(s.append(" name='"), i.name()).append('\'');
    }
    s.append("/>");
  }

  /**
   * A roster push (RFC 6121 2.1.6): a grant was made, paused, resumed or revoked. Sent only while
   * the application is active and the session's key is its current one (else the session ends, as
   * {@link #endIfRevoked}); pushes wait for that check one after the other, so they keep their
   * order.
   */
  void rosterPush(XmppServer.RosterItem item, boolean shared) {
    if (!bound()) {
      return;
    }
    pushes =
        pushes
            .thenCompose(v -> node.app(appId))
            .<Void>handleAsync(
                (app, x) -> {
                  if (!bound()) {
                    return null;
                  }
                  if (x != null) {
                    // Not known to be allowed: the session ends, and its next login reads the
                    // roster afresh rather than missing this change.
                    LOG.warn(
                        "roster push of app {}: application unreadable: {}", appId, x.toString());
                    streamError("internal-server-error", "the application could not be read");
                  } else if (!endIfRevoked(app)) {
                    writeRosterPush(item, shared);
                  }
                  return null;
                },
                ctx.executor());
  }

  private void writeRosterPush(XmppServer.RosterItem item, boolean shared) {
    StringBuilder s =
        new StringBuilder(256).append("<iq type='set' id='push").append(++nextId).append("' to='");
    Xml.escape(s, fullJid).append("'><query xmlns='").append(ROSTER_NS).append("'>");
    rosterItem(s, item, shared ? "to" : "remove");
    s.append("</query></iq>");
    write(s);
  }

  private void result(String id, String child) {
    result(id, null, child);
  }

  /** An iq result; {@code from}: the address the request was sent to, or {@code null}. */
  private void result(String id, String from, String child) {
    StringBuilder s = new StringBuilder(96).append("<iq type='result' id='");
    Xml.escape(s, id).append('\'');
    if (from != null) {
      Xml.escape(s.append(" from='"), from).append('\'');
    }
    if (fullJid != null) {
      Xml.escape(s.append(" to='"), fullJid).append('\'');
    }
    if (child == null) {
      s.append("/>");
    } else {
      s.append('>').append(child).append("</iq>");
    }
    write(s);
  }

  // ---------------------------------------------------------------------------------------------
  // Presence

  private void presence(XmlElement e) {
    String type = e.attr("type");
    if (e.attr("to") != null) {
      // Directed presence and subscription requests: users decide what they share, on their side.
      return;
    }
    if (type == null) {
      if (!available) {
        available = true;
        feed = admission.startFeed(this, this);
      }
    } else if ("unavailable".equals(type) && available) {
      available = false;
      inSnapshot = false;
      feed.close();
      feed = null;
    }
    if (sm != null) {
      sm.available = available;
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable() && feed != null) {
      feed.pump();
    }
    ctx.fireChannelWritabilityChanged();
  }

  // UpdateFormat: presence stanzas to this session's full JID.

  @Override
  public void writeSnapshot(
      List<SnapshotEntry> entries, long seq, boolean fresh, boolean last, ByteBuf out) {
    StringBuilder s = new StringBuilder(entries.size() * 128);
    for (SnapshotEntry en : entries) {
      presenceStanza(s, en.puid(), en.status(), en.message());
    }
    if (!inSnapshot) {
      inSnapshot = true;
      if (sm != null) {
        sm.snapshotStarted();
      }
    }
    if (last) {
      inSnapshot = false;
      lastSeq = seq;
    }
    if (sm != null) {
      sm.sent(entries.size());
      if (last) {
        sm.mark(seq);
      }
      maybeRequestAck(s);
    }
    ByteBufUtil.writeUtf8(out, s);
  }

  @Override
  public void writeUpdates(List<Update> updates, ByteBuf out) {
    StringBuilder s = new StringBuilder(updates.size() * 128);
    for (Update u : updates) {
      presenceStanza(s, u.puid(), u.status(), u.message());
      lastSeq = u.seq();
      if (sm != null) {
        sm.sent(1);
        sm.mark(u.seq());
      }
    }
    if (sm != null) {
      maybeRequestAck(s);
    }
    ByteBufUtil.writeUtf8(out, s);
  }

  private void presenceStanza(StringBuilder s, String puid, PresenceStatus status, String message) {
    s.append("<presence from='");
    Xml.escape(s, Jid.localpart(puid)).append('@');
    Xml.escape(s, node.domain()).append("' to='");
    Xml.escape(s, fullJid).append('\'');
    if (status == PresenceStatus.OFFLINE) {
      s.append(" type='unavailable'/>");
      return;
    }
    s.append('>');
    if (status == PresenceStatus.AWAY) {
      s.append("<show>away</show>");
    } else if (status == PresenceStatus.UNAVAILABLE) {
      s.append("<show>xa</show>");
    }
    if (message != null && !message.isEmpty()) {
      Xml.escape(s.append("<status>"), message).append("</status>");
    }
    s.append("</presence>");
  }

  @Override
  public void writeReceipts(List<Receipt> receipts, ByteBuf out) {
    StringBuilder s = new StringBuilder(receipts.size() * 256);
    for (Receipt r : receipts) {
      s.append("<message from='");
      Xml.escape(s, Jid.localpart(r.puid())).append('@');
      Xml.escape(s, node.domain()).append("' to='");
      Xml.escape(s, fullJid).append("' id='rcpt").append(++nextId).append("'>");
      if ("delivered".equals(r.state()) || "missed".equals(r.state())) {
        String mid = messageIds.get(r.id());
        if (mid != null) {
          Xml.escape(s.append("<received xmlns='" + RECEIPTS_NS + "' id='"), mid).append("'/>");
        } else {
          // Not (yet) known as posted by this session with a receipt request: if the post's
          // answer is still on its way, posted() sends the XEP-0184 answer.
          earlyReceipts.put(r.id(), r.puid());
        }
      }
      s.append("<receipt xmlns='").append(PRESENCE_RECEIPTS_NS).append("' id='");
      Xml.escape(s, r.id()).append("' state='");
      Xml.escape(s, r.state()).append("' at='").append(r.at()).append("'/></message>");
    }
    if (sm != null) {
      sm.sent(receipts.size());
      maybeRequestAck(s);
    }
    ByteBufUtil.writeUtf8(out, s);
  }

  /** Remembers that notification {@code notificationId} was posted by message {@code messageId}. */
  void posted(String notificationId, String messageId) {
    if (messageId == null) {
      return;
    }
    String puid = earlyReceipts.remove(notificationId);
    if (puid == null) {
      messageIds.put(notificationId, messageId);
      return;
    }
    StringBuilder s = new StringBuilder(256).append("<message from='");
    Xml.escape(s, Jid.localpart(puid)).append('@');
    Xml.escape(s, node.domain()).append("' to='");
    Xml.escape(s, fullJid).append("' id='rcpt").append(++nextId).append("'>");
    Xml.escape(s.append("<received xmlns='" + RECEIPTS_NS + "' id='"), messageId)
        .append("'/></message>");
    write(s);
  }

  String fullJid() {
    return fullJid;
  }

  // ---------------------------------------------------------------------------------------------
  // UpdateSink

  @Override
  public EventExecutor executor() {
    return ctx.executor();
  }

  @Override
  public ByteBufAllocator alloc() {
    return ctx.alloc();
  }

  @Override
  public boolean writable() {
    return phase == Phase.OPEN && available && ctx.channel().isWritable();
  }

  @Override
  public void send(ByteBuf frame) {
    node.stanzasOut().inc();
    ctx.write(frame, ctx.voidPromise());
  }

  @Override
  public void flush() {
    ctx.flush();
  }

  /**
   * Ends the session when {@code app} (as just read) no longer lets it run: deactivated or gone
   * ({@code APP_NOT_ACTIVE}), or its key regenerated since the login ({@code INVALID_API_KEY}),
   * with the stream error {@code not-authorized} as {@link #fail}. Returns whether the session is
   * over.
   */
  boolean endIfRevoked(Optional<Application> app) {
    if (admission == null || phase == Phase.CLOSED) {
      return true;
    }
    ErrorCode code = admission.revokedBy(app);
    if (code == null) {
      return false;
    }
    fail(code, AppUpdates.reason(code));
    return true;
  }

  /** The stanza error condition of a stanza refused for {@code code} of {@link #endIfRevoked}. */
  static String condition(ErrorCode code) {
    return code == ErrorCode.APP_NOT_ACTIVE ? "forbidden" : "not-authorized";
  }

  @Override
  public void fail(ErrorCode code, String detail) {
    streamError(
        code == ErrorCode.APP_NOT_ACTIVE || code == ErrorCode.INVALID_API_KEY
            ? "not-authorized"
            : "internal-server-error",
        code.reasonWith(detail));
  }

  @Override
  public long pendingBytes() {
    var out = ctx.channel().unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  // ---------------------------------------------------------------------------------------------
  // Output and ending

  void write(CharSequence xml) {
    if (phase == Phase.CLOSED) {
      return;
    }
    node.stanzasOut().inc();
    if (sm != null) {
      sm.sent(1);
      StringBuilder s = new StringBuilder(xml);
      maybeRequestAck(s);
      xml = s;
    }
    ctx.writeAndFlush(utf8(xml), ctx.voidPromise());
  }

  /** Writes a stream management element (not a stanza: not counted). */
  private void writeNonza(CharSequence xml) {
    if (phase == Phase.CLOSED) {
      return;
    }
    ctx.writeAndFlush(utf8(xml), ctx.voidPromise());
  }

  /** A stanza error in answer to {@code e} (RFC 6120 8.3). */
  void stanzaError(XmlElement e, String type, String condition, String text) {
    stanzaError(e.name(), e.attr("id"), e.attr("to"), type, condition, text);
  }

  void stanzaError(
      String kind, String id, String from, String type, String condition, String text) {
    node.stanzaErrors().inc();
    StringBuilder s = new StringBuilder(256).append('<').append(kind).append(" type='error'");
    if (id != null) {
      Xml.escape(s.append(" id='"), id).append('\'');
    }
    if (from != null) {
      Xml.escape(s.append(" from='"), from).append('\'');
    }
    if (fullJid != null) {
      Xml.escape(s.append(" to='"), fullJid).append('\'');
    }
    s.append("><error type='").append(type).append("'><").append(condition);
    s.append(" xmlns='").append(STANZAS_NS).append("'/>");
    if (text != null) {
      s.append("<text xmlns='").append(STANZAS_NS).append("' xml:lang='en'>");
      Xml.escape(s, text).append("</text>");
    }
    s.append("</error></").append(kind).append('>');
    write(s);
  }

  /**
   * Ends the stream with an RFC 6120 stream error: the error, {@code </stream:stream>}, then the
   * socket once the peer closed its stream or after the linger. Reads go on (and are dropped).
   */
  void streamError(String condition, String text) {
    if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
      return;
    }
    node.streamError(condition);
    sendHeader();
    phase = Phase.CLOSED;
    stopFeed();
    StringBuilder s =
        new StringBuilder(256)
            .append("<stream:error><")
            .append(condition)
            .append(" xmlns='")
            .append(STREAM_ERRORS_NS)
            .append("'/>");
    if (text != null) {
      s.append("<text xmlns='").append(STREAM_ERRORS_NS).append("' xml:lang='en'>");
      Xml.escape(s, text).append("</text>");
    }
    s.append("</stream:error></stream:stream>");
    Backpressure.closing(ctx.channel());
    ctx.writeAndFlush(utf8(s));
    ctx.executor().schedule(this::closeConnection, node.linger().toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Closes the connection at the end of the linger. A connection that still does not take what it
   * is sent (unwritable: its peer does not read, as one closed with {@code connection-timeout} for
   * that) is closed below the TLS handler, without TLS's close_notify: that could not be sent, and
   * Netty's SslHandler would hold the socket 3 s more waiting to, then log at WARN ("Last write
   * attempt timed out"), a line per connection that any client could cause.
   */
  private void closeConnection() {
    if (ctx.channel().isWritable()) {
      ctx.close();
    } else {
      // A close from the first handler's context goes straight to the socket.
      ctx.pipeline().firstContext().close();
    }
  }

  /**
   * Another connection bound this session's full JID (RFC 6120 §7.7.2.2, the third choice: the
   * newer session wins, so a client reconnecting after a silent drop gets its resource back): this
   * one ends with {@code conflict} and cannot be resumed, as one the client closed. Runs on this
   * session's event loop.
   */
  void replaced() {
    if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
      return;
    }
    handedOver |= sm != null;
    streamError("conflict", "another connection bound this resource");
  }

  /** The node drains: {@code system-shutdown}. */
  void shutdown() {
    streamError("system-shutdown", "the node is shutting down; reconnect");
  }

  private void keepalive() {
    if (!ctx.channel().isActive() || phase == Phase.CLOSED) {
      return;
    }
    long silent = System.nanoTime() - lastReadNanos;
    long interval = node.pingInterval().toNanos();
    if (pinged && silent >= interval) {
      streamError("connection-timeout", "no answer to a ping");
    } else if (sm != null
        && !sm.ackRequested
        && sm.sentOut > sm.ackedOut
        && ctx.channel().isWritable()) {
      sm.ackRequested = true;
      writeNonza("<r xmlns='" + StreamManagement.NS + "'/>");
    } else if (silent >= interval && fullJid != null && ctx.channel().isWritable()) {
      pinged = true;
      StringBuilder s = new StringBuilder(128).append("<iq type='get' id='ping").append(++nextId);
      Xml.escape(s.append("' to='"), fullJid).append("' from='");
      Xml.escape(s, node.domain()).append("'><ping xmlns='").append(PING_NS).append("'/></iq>");
      write(s);
    }
  }

  private void stopFeed() {
    available = false;
    inSnapshot = false;
    if (feed != null) {
      feed.close();
      feed = null;
    }
  }

  /**
   * A failure no handler before this one answered. A TLS failure (records or a handshake the peer
   * got wrong) is counted and closes the connection; any other I/O error (a reset) closes it. Bytes
   * a decoder could not decode (a {@link DecoderException}: the decoder names no error of its own
   * to the peer) end the stream with {@code not-well-formed}. These are the client's doing, or the
   * network's: logged at DEBUG without a stack trace, so that no client, authenticated or not, can
   * fill the log. Anything else is a bug of this node: logged at WARN with its stack trace, and the
   * stream ends with {@code internal-server-error} (RFC 6120 §4.9.3.8).
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable e = ExceptionHandler.unwrap(cause);
    if (cause instanceof DecoderException && e instanceof SSLException) {
      node.tlsFailures().inc();
      LOG.debug("xmpp TLS failure on {}: {}", ctx.channel(), e.toString());
      closeNow(ctx);
    } else if (e instanceof IOException) {
      LOG.debug("xmpp I/O error on {}: {}", ctx.channel(), e.toString());
      closeNow(ctx);
    } else if (cause instanceof DecoderException) {
      LOG.debug("undecodable xmpp input on {}: {}", ctx.channel(), e.toString());
      endStream(ctx, "not-well-formed");
    } else {
      LOG.warn("xmpp connection {} failed", ctx.channel(), cause);
      endStream(ctx, "internal-server-error");
    }
  }

  /** Ends the stream with the stream error {@code condition}, or closes now when it cannot. */
  private void endStream(ChannelHandlerContext ctx, String condition) {
    if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
      closeNow(ctx);
    } else {
      streamError(condition, null);
    }
  }

  private void closeNow(ChannelHandlerContext ctx) {
    phase = Phase.CLOSED;
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    phase = Phase.CLOSED;
    authTimer.cancel(false);
    pingTimer.cancel(false);
    stopFeed();
    node.sessionEnded(this);
    if (fullJid != null) {
      node.jidReleased(fullJid, this);
    }
    if (sm != null && sm.id != null) {
      if (handedOver) {
        node.forget(sm.id, this);
      } else {
        sm.detached(System.nanoTime());
        node.detach(sm);
      }
    }
    if (admission != null) {
      admission.release();
      admission = null;
    }
    ctx.fireChannelInactive();
  }

  private ByteBuf utf8(CharSequence s) {
    return ByteBufUtil.writeUtf8(ctx.alloc(), s);
  }

  ChannelHandlerContext context() {
    return ctx;
  }

  /** For {@link XmppNotifications}: the stanza answered on this session's event loop. */
  boolean open() {
    return phase == Phase.OPEN && ctx.channel().isActive();
  }

  /** {@code bytes} random bytes, URL-safe base64. */
  static String randomId(int bytes) {
    byte[] b = new byte[bytes];
    SecureRandoms.current().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
