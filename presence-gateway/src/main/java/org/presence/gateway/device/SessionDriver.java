package org.presence.gateway.device;

import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.gateway.identity.Identity;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.SecureRandoms;
import org.presence.store.queue.Notification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the steps one device socket's {@link DeviceSession} decides, without Netty: authenticating
 * the connect and claiming the device, statuses, refreshes, push registrations and answers to
 * notifications through the device services, and the order of the answers through its {@link
 * ReplyQueue}, which it extends (one object per socket for both). It talks to the socket only
 * through {@link Socket}, which {@link DeviceSessionHandler} implements (decoding frames, writing
 * what it is given, mapping channel events to calls here). One per socket; it is the session as the
 * {@link DeviceRegistry} and live notifications see it.
 *
 * <h2>Threads</h2>
 *
 * Every method runs on the socket's event loop ({@link Socket#eventLoop}), except {@link #push},
 * which any thread may call and which hops onto it, and the getters the registry's sweep reads
 * ({@link #lastReadNanos}, {@link #identityDeadlineMillis}, {@link #pairedDevice}: volatile). The
 * results of asynchronous steps come back on the event loop and are dropped when the socket closed
 * meanwhile. Nothing here blocks.
 *
 * <h2>Order</h2>
 *
 * Reads are held ({@link Socket#connecting}) while the connect's assertion is verified and the
 * device claimed, when either waits, and resumed ({@link Socket#connected}) once {@code connected}
 * is written; a connect decided at once is answered within the read that brought it, before the
 * socket's next frame is handled. Either way the frames that came after the connect are handled
 * after its answer: the socket keeps those it already read undecoded until {@link
 * Socket#connected}. Once open, answers leave in request order: while a status, a refresh, a push
 * registration or an answer to notifications is pending, later answers (refusals included) wait
 * behind it, and an error that ends the session goes out only after the answers of the frames
 * accepted before it.
 */
@OnEventLoop
final class SessionDriver extends ReplyQueue implements DeviceRegistry.Link, NotificationSink {
  /** The socket as the driver sees it; implemented by {@link DeviceSessionHandler}. */
  interface Socket extends ReplyQueue.Out {
    /** The socket's event loop: where asynchronous results come back. */
    Executor eventLoop();

    /** Whether the caller runs on {@link #eventLoop}. */
    boolean inEventLoop();

    /** Whether the socket is still open. */
    boolean active();

    /** The client's address (the forwarded one behind a trusted proxy), or {@code null}. */
    InetAddress address();

    /** The socket for the log: its id and client address. */
    String describe();

    /** A connect is being checked: no frame is read until {@link #connected}. */
    void connecting();

    /**
     * The session opened: the connect timeout is over, reads resume, and the frames read after the
     * connect are handled (after its answer, which is written already).
     */
    void connected();

    /** Writes a keepalive ping. */
    void ping();

    /** Writes {@code items} as notification frames, skipping those {@code recent} holds. */
    void writeNotifications(
        RecentIds recent, List<Notification> items, NotificationSink.Written written);
  }

  private static final Logger LOG = LoggerFactory.getLogger(SessionDriver.class);

  private final DeviceChannelInstaller node;
  private final DeviceSession session;

  /**
   * When the session ends because its identity expired without refresh ({@code identity-grace}
   * after the token's expiry), in epoch milliseconds; the registry's sweep looks at it, so no timer
   * is held per session. {@link Long#MAX_VALUE} until open.
   */
  private volatile long identityDeadline = Long.MAX_VALUE;

  /** The paired device whose token the session holds, or empty. */
  private volatile String pairedDevice = "";

  private volatile long lastReadNanos;

  /** Ids pushed lately; {@code null} until the first push. */
  private RecentIds recent;

  SessionDriver(DeviceChannelInstaller node, Socket socket) {
    super(socket);
    this.node = node;
    this.session = new DeviceSession(node.rateLimit());
    this.lastReadNanos = System.nanoTime();
  }

  /** The socket (where the answers go: the queue's {@link ReplyQueue.Out}). */
  Socket socket() {
    return (Socket) out();
  }

  DeviceSession.State state() {
    return session.state();
  }

  // ---- Frames in (from the handler) ----

  /**
   * A read began at {@code nanos}: what is answered until {@link #readComplete} leaves together.
   */
  void readStarted(long nanos) {
    lastReadNanos = nanos;
    readStarted();
  }

  /**
   * A ping arrived: whether to answer it with a pong (it takes a token from the session's bucket; a
   * client that streams pings loses its socket).
   */
  boolean onPing(long nanos) {
    DeviceSession.Step step = session.onControlFrame(nanos);
    if (step instanceof DeviceSession.End e) {
      closeAfterReplies(e.code(), e.detail());
    }
    return step == null;
  }

  /** A decoded frame. */
  void onMessage(DeviceMessage message, long nanos) {
    run(session.onFrame(message, nanos));
  }

  /**
   * A frame that could not be decoded ({@code e}), or that is not accepted (binary, fragmented).
   */
  void onBadFrame(ProtocolException e, long nanos) {
    run(session.onBadFrame(e, nanos));
  }

  private void run(DeviceSession.Step step) {
    if (step instanceof DeviceSession.Apply a) {
      ReplyQueue.Reply reply = expect();
      CompletableFuture<Void> done =
          node.service()
              .status(
                  session.user(),
                  session.device(),
                  session.sessionId(),
                  a.status(),
                  a.message(),
                  a.applicationIds())
              .toCompletableFuture();
      if (done.isDone()) {
        // Decided already (the in-process store): answered in this read, with no task.
        statusApplied(reply, failure(done));
      } else {
        done.whenCompleteAsync((v, e) -> statusApplied(reply, e), socket().eventLoop());
      }
    } else if (step instanceof DeviceSession.Refuse r) {
      node.metrics().error(r.code());
      reply(ErrorReply.of(r.code(), r.detail()));
    } else if (step instanceof DeviceSession.End e) {
      closeAfterReplies(e.code(), e.detail());
    } else if (step instanceof DeviceSession.Authenticate a) {
      authenticate(a.connect());
    } else if (step instanceof DeviceSession.Reauthenticate r) {
      ReplyQueue.Reply reply = expect();
      node.service()
          .reauthenticate(r.assertion())
          .whenCompleteAsync(
              (identity, e) -> reauthenticated(reply, identity, e), socket().eventLoop());
    } else if (step instanceof DeviceSession.Answer a) {
      ReplyQueue.Reply reply = expect();
      node.notifications()
          .answered(session.user(), a.ids(), a.acted())
          .whenCompleteAsync(
              (unknown, e) -> answeredNotifications(reply, unknown, e), socket().eventLoop());
    } else if (step instanceof DeviceSession.Register r) {
      ReplyQueue.Reply reply = expect();
      node.service()
          .registerPush(session.user(), session.device(), session.applicationIds(), r.presenceId())
          .whenCompleteAsync((v, e) -> answered(reply, e), socket().eventLoop());
    }
  }

  /**
   * The failure of a completed future, or {@code null} when it succeeded; read without {@code join}
   * (no wait can hide here on the event loop), as {@code whenComplete} would hand it over.
   */
  private static Throwable failure(CompletableFuture<?> done) {
    if (!done.isCompletedExceptionally()) {
      return null;
    }
    return done.handle((v, e) -> e).getNow(null);
  }

  // ---- Opening ----

  /**
   * Checks the connect's token, then claims the device. A step that is decided at once (a token
   * checked on this thread, a claim in the node's own store) goes on in the same read, with no task
   * and no pause of reads: no other frame of the socket can be handled before it, as when reads are
   * paused. Only a step that waits (a key fetch, a paired device's lookup, a claim in Redis) pauses
   * reads ({@link Socket#connecting}) and comes back as a task on the event loop.
   */
  private void authenticate(Connect connect) {
    CompletableFuture<Identity> checked =
        node.service().authenticate(connect.assertion(), socket().address()).toCompletableFuture();
    if (checked.isDone()) {
      Throwable e = failure(checked);
      authenticated(connect, e == null ? checked.getNow(null) : null, e);
      return;
    }
    socket().connecting();
    checked.whenCompleteAsync(
        (identity, e) -> authenticated(connect, identity, e), socket().eventLoop());
  }

  private void authenticated(Connect connect, Identity identity, Throwable e) {
    if (session.state() != DeviceSession.State.AUTHENTICATING || !socket().active()) {
      return;
    }
    if (e != null) {
      end(e);
      return;
    }
    UUID id = SecureRandoms.uuid();
    String device = DeviceSession.deviceOf(connect, id);
    CompletableFuture<Void> claimed =
        node.service().open(identity.subject(), device, id).toCompletableFuture();
    if (claimed.isDone()) {
      opened(connect, identity, device, id, failure(claimed));
      return;
    }
    socket().connecting();
    claimed.whenCompleteAsync(
        (v, e2) -> opened(connect, identity, device, id, e2), socket().eventLoop());
  }

  private void opened(Connect connect, Identity identity, String device, UUID id, Throwable e) {
    String user = identity.subject();
    if (e != null) {
      if (socket().active()) {
        end(e);
      }
      return;
    }
    if (session.state() != DeviceSession.State.AUTHENTICATING || !socket().active()) {
      // Gone while the device was being claimed: give it back after the grace period.
      node.service().closed(user, device, id);
      return;
    }
    session.opened(id, user, device, connect.applicationIds(), System.nanoTime());
    pairedDevice = identity.pairedDevice();
    scheduleExpiry(identity.expiresAt());
    node.registry().add(id, this);
    send(new Connected(id, identity.expiresAt().toEpochMilli()));
    socket().connected();
    // After the registry knows the session: an item stored from now on wakes it, an item stored
    // before is in what opened() reads.
    node.notifications().opened(this);
  }

  /** The connect timeout ran out (the handler's timer). */
  void connectTimedOut() {
    if (session.onConnectTimeout() instanceof DeviceSession.End e) {
      socket().closeWith(e.code(), e.detail());
    }
  }

  // ---- Answers ----

  /**
   * A {@code refresh} was checked: a token of the session's user extends the session to its expiry
   * (answered with the new {@code expires_at}); another user's is refused ({@code
   * IDENTITY_MISMATCH}) and a bad token is refused with its errno, the session keeping its former
   * token; a revoked device's ends the session.
   */
  private void reauthenticated(ReplyQueue.Reply reply, Identity identity, Throwable e) {
    if (e != null) {
      answered(reply, e);
      return;
    }
    if (session.onReauthenticated(identity.subject()) instanceof DeviceSession.Refuse r) {
      answered(reply, new ProtocolException(r.code(), r.detail()));
      return;
    }
    if (session.state() == DeviceSession.State.OPEN) {
      pairedDevice = identity.pairedDevice();
      scheduleExpiry(identity.expiresAt());
    }
    answer(reply, new DeviceMessage.Refreshed(identity.expiresAt().toEpochMilli()));
  }

  /** Sets when the session ends: {@code identity-grace} after {@code expires}, unless refreshed. */
  private void scheduleExpiry(Instant expires) {
    identityDeadline = expires.toEpochMilli() + node.config().identityGrace().toMillis();
  }

  private void answeredNotifications(ReplyQueue.Reply reply, List<String> unknown, Throwable e) {
    if (e == null && !unknown.isEmpty()) {
      node.metrics().error(ErrorCode.UNKNOWN_NOTIFICATION);
      answer(reply, ErrorReply.of(ErrorCode.UNKNOWN_NOTIFICATION, String.join(", ", unknown)));
      return;
    }
    answered(reply, e);
  }

  /**
   * Fills in the answer of an asynchronous step (an ack, or the error it failed with) and writes
   * the answers that are due. It is written even when the session ended meanwhile (by a later frame
   * of the client): its error goes out after it.
   */
  /** A status update was stored ({@code e} null) or refused: live notifications hear of it. */
  private void statusApplied(ReplyQueue.Reply reply, Throwable e) {
    if (e == null) {
      // Receipts of what was written before the device's first status wait for it.
      node.notifications().statusSet(this);
    }
    answered(reply, e);
  }

  private void answered(ReplyQueue.Reply reply, Throwable e) {
    if (e == null) {
      answer(reply, Ack.INSTANCE);
      return;
    }
    ProtocolException pe = protocolException(e);
    if (pe.code().sessionLost()) {
      answerEnd(reply, pe.code(), pe.detail());
    } else {
      node.metrics().error(pe.code());
      answer(reply, ErrorReply.of(pe.code(), pe.detail()));
    }
  }

  // ---- Ending ----

  /** Ends the session with {@code code} once the answers still pending are written. */
  private void closeAfterReplies(ErrorCode code, String detail) {
    session.closed();
    endAfterReplies(code, detail);
  }

  private void end(Throwable e) {
    ProtocolException pe = protocolException(e);
    session.closed();
    socket().closeWith(pe.code(), pe.detail());
  }

  private ProtocolException protocolException(Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (e instanceof ProtocolException pe) {
      return pe;
    }
    LOG.error("device session {} failed", socket().describe(), e);
    return new ProtocolException(ErrorCode.SESSION_ABORTED, null);
  }

  /**
   * The node drains: an open session answers every frame it accepted before (a status still being
   * stored is acknowledged once it is), then ends with {@code SERVER_SHUTTING_DOWN} (close 1001);
   * frames after this are not handled. A socket whose session is not open ends at once. The node's
   * drain timeout bounds the wait: what is still open then is cut.
   */
  void drain() {
    if (session.state() == DeviceSession.State.OPEN) {
      closeAfterReplies(ErrorCode.SERVER_SHUTTING_DOWN, null);
    } else {
      socket().closeWith(ErrorCode.SERVER_SHUTTING_DOWN, null);
    }
  }

  /**
   * The pipeline failed with {@code cause}: when answers are pending, the session ends after them
   * (a broken frame ends the session after the frames accepted before it are answered) and this
   * returns {@code true}; otherwise the caller hands {@code cause} on at once.
   */
  boolean failAfterPending(Throwable cause) {
    if (!pending()) {
      return false;
    }
    session.closed();
    failAfterReplies(cause);
    return true;
  }

  /** The socket closed: no answer is due, and an opened session's device goes (after the grace). */
  void closed() {
    clear();
    session.closed();
    if (session.sessionId() != null) {
      node.registry().remove(session.sessionId(), this);
      node.service().closed(session.user(), session.device(), session.sessionId());
      node.notifications().closed(session.sessionId());
    }
  }

  // ---- DeviceRegistry.Link (on the event loop, but for the getters) ----

  @Override
  public Executor eventLoop() {
    return socket().eventLoop();
  }

  @Override
  public long lastReadNanos() {
    return lastReadNanos;
  }

  @Override
  public String pairedDevice() {
    return pairedDevice;
  }

  @Override
  public long identityDeadlineMillis() {
    return identityDeadline;
  }

  @Override
  public void identityExpired() {
    if (session.state() != DeviceSession.State.OPEN
        || !socket().active()
        || System.currentTimeMillis() < identityDeadline) {
      // Gone, or refreshed since the sweep saw it due.
      return;
    }
    identityDeadline = Long.MAX_VALUE;
    closeAfterReplies(ErrorCode.IDENTITY_EXPIRED, null);
  }

  @Override
  public void replaced() {
    if (session.state() == DeviceSession.State.OPEN) {
      socket().closeWith(ErrorCode.SESSION_REPLACED, null);
    }
  }

  @Override
  public void settings(DeviceMessage.Settings settings) {
    if (socket().active() && session.sendSettings(settings)) {
      // A device that does not read is closed (SLOW_CONSUMER); it reads the settings anew.
      send(settings);
    }
  }

  @Override
  public void abort(ErrorCode code, String detail) {
    if (session.state() == DeviceSession.State.OPEN) {
      socket().closeWith(code, detail);
    }
  }

  @Override
  public void keepalive() {
    if (!socket().active()) {
      return;
    }
    DeviceSession.Step step =
        session.onKeepalive(
            System.nanoTime(),
            lastReadNanos,
            node.config().pingInterval().toNanos(),
            node.config().pingTimeout().toNanos());
    if (step instanceof DeviceSession.Ping) {
      socket().ping();
    } else if (step instanceof DeviceSession.End e) {
      socket().closeWith(e.code(), e.detail());
    }
  }

  // ---- NotificationSink ----

  @Override
  public String user() {
    return session.user();
  }

  @Override
  public UUID session() {
    return session.sessionId();
  }

  @Override
  public void push(List<Notification> items, Written written) {
    if (!socket().inEventLoop()) {
      socket().eventLoop().execute(() -> push(items, written));
      return;
    }
    if (!socket().active() || session.state() != DeviceSession.State.OPEN) {
      return;
    }
    RecentIds r = recent;
    if (r == null) {
      r = recent = new RecentIds();
    }
    socket().writeNotifications(r, items, written);
  }

  /** What every socket of the node shares. */
  DeviceChannelInstaller node() {
    return node;
  }
}
