package org.presence.gateway.device;

import java.util.List;
import java.util.UUID;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Acknowledge;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Dismiss;
import org.presence.protocol.device.DeviceMessage.Refresh;
import org.presence.protocol.device.DeviceMessage.RegisterPush;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.limit.ClockedBucket;

/**
 * The state of one device-channel socket, as a plain state machine with no Netty in it: a decoded
 * frame goes in, a {@link Step} saying what to do comes out. {@link SessionDriver} carries the
 * steps out (asynchronous ones through {@link DeviceService}) and reports back with {@link #opened}
 * and {@link #closed}. It also decides the keepalive ({@link #onKeepalive}), the connect timeout,
 * whether a refreshed token is the session's user's and whether settings are sent.
 *
 * <pre>
 * AWAITING_CONNECT --connect--> AUTHENTICATING --opened--> OPEN
 *        |                            |                      |
 *        +------- any error ----------+----- closed ---------+--> CLOSED
 * </pre>
 *
 * <p>Before the session is open, any other frame or any error ends the socket, whatever the errno's
 * sign: there is no session to keep. (While a connect is checked the transport hands over no frame:
 * it keeps those that came after the connect until the answer, then hands them over to the open
 * session. One handed over anyway ends the socket.) Once open, every frame (good or bad) takes a
 * token from the session's bucket; a frame beyond it is refused with {@link ErrorCode#SLOW_DOWN},
 * and a client that keeps sending goes into overdraft until it loses the session ({@link
 * ErrorCode#RATE_LIMIT_EXCEEDED}). Pings take a token too, from the socket's first frame on (before
 * the connect as well, see {@link #onControlFrame}).
 *
 * <p>Kept small on purpose (a device holds its socket for days): a few fields, the ids shared with
 * the frames and the identity they came from. Not thread-safe; its driver calls it on the channel's
 * event loop.
 */
@OnEventLoop
public final class DeviceSession {
  /** Where a socket stands. */
  public enum State {
    AWAITING_CONNECT,
    AUTHENTICATING,
    OPEN,
    CLOSED
  }

  /** What the transport must do next. */
  public sealed interface Step {}

  /** Nothing (a frame after the end). */
  public record Ignore() implements Step {
    static final Ignore INSTANCE = new Ignore();
  }

  /** Answer with an error and keep the session. */
  public record Refuse(ErrorCode code, String detail) implements Step {}

  /** Answer with an error and close the socket. */
  public record End(ErrorCode code, String detail) implements Step {}

  /** Verify the connect's assertion, then open the session (or end the socket). */
  public record Authenticate(Connect connect) implements Step {}

  /**
   * Apply a status update of the open session.
   *
   * @param applicationIds the update's own list, else the connect's ({@code null}: all granted)
   */
  public record Apply(PresenceStatus status, String message, ApplicationIds applicationIds)
      implements Step {}

  /** Verify a new identity token for the open session ({@code refresh}). */
  public record Reauthenticate(String assertion) implements Step {}

  /** Tie a push presence id to the session's user and device. */
  public record Register(String presenceId) implements Step {}

  /** Ping the device: it has been silent for the ping interval (the keepalive). */
  public record Ping() implements Step {
    static final Ping INSTANCE = new Ping();
  }

  /**
   * The user answered live notifications: acted on them ({@code acted}) or dismissed them.
   *
   * @param ids the notifications' ids
   */
  public record Answer(boolean acted, List<String> ids) implements Step {}

  /**
   * The session's rate limit, shared by all sessions of a node.
   *
   * @param perSecond tokens added per second
   * @param burst bucket size
   * @param overdraft how far below empty refused frames may drain it before the session ends
   */
  public record RateLimit(double perSecond, int burst, int overdraft) {}

  /** Prefix of the device id of a session that named none: it cannot clash with a real one. */
  private static final String ANONYMOUS = "~";

  private final RateLimit limit;
  private State state = State.AWAITING_CONNECT;
  private UUID sessionId;
  private String user;
  private String device;
  private ApplicationIds applicationIds;

  /**
   * When the keepalive last pinged the device; a ping waits for its answer while nothing was read
   * since ({@link #onKeepalive}).
   */
  private long pingSentNanos = Long.MIN_VALUE;

  /** The settings last sent, so that one change heard twice is sent once. */
  private DeviceMessage.Settings lastSettings;

  /**
   * The session's Bucket4j bucket, made full at the socket's first frame after none was held.
   * (About 80 bytes: a GCRA time in one {@code long} would take 8, but rate limiting stays with the
   * library, as everywhere else in the node.) The keepalive sweep drops it once it is full again,
   * so an idle session holds none: a full bucket is the same as a new one.
   */
  private ClockedBucket bucket;

  public DeviceSession(RateLimit limit) {
    this.limit = limit;
  }

  /** What to do with a frame that decoded to {@code message}, arriving at {@code nanos}. */
  public Step onFrame(DeviceMessage message, long nanos) {
    switch (state) {
      case AWAITING_CONNECT:
        if (message instanceof Connect c) {
          state = State.AUTHENTICATING;
          return new Authenticate(c);
        }
        return end(ErrorCode.NOT_CONNECTED, null);
      case AUTHENTICATING:
        return end(ErrorCode.NOT_CONNECTED, "wait for the connect answer");
      case OPEN:
        break;
      default:
        return Ignore.INSTANCE;
    }
    Step limited = take(nanos);
    if (limited != null) {
      return limited;
    }
    if (message instanceof StatusUpdate u) {
      if (!u.sessionId().equals(sessionId)) {
        return new Refuse(ErrorCode.UNKNOWN_SESSION, null);
      }
      return new Apply(
          u.status(),
          u.message(),
          u.applicationIds() != null ? u.applicationIds() : applicationIds);
    }
    if (message instanceof RegisterPush r) {
      if (!r.sessionId().equals(sessionId)) {
        return new Refuse(ErrorCode.UNKNOWN_SESSION, null);
      }
      if (isAnonymous(device)) {
        // A push presence id is tied to a device: the connect must have named one.
        return new Refuse(ErrorCode.MISSING_FIELD, "device (in the connect request)");
      }
      return new Register(r.presenceId());
    }
    if (message instanceof Acknowledge a) {
      if (!a.sessionId().equals(sessionId)) {
        return new Refuse(ErrorCode.UNKNOWN_SESSION, null);
      }
      return new Answer(true, a.ids());
    }
    if (message instanceof Dismiss d) {
      if (!d.sessionId().equals(sessionId)) {
        return new Refuse(ErrorCode.UNKNOWN_SESSION, null);
      }
      return new Answer(false, d.ids());
    }
    if (message instanceof Refresh r) {
      return new Reauthenticate(r.assertion());
    }
    if (message instanceof Connect) {
      return new Refuse(ErrorCode.ALREADY_CONNECTED, null);
    }
    // Server messages sent by a client: it does not speak the protocol.
    return new Refuse(ErrorCode.UNKNOWN_TYPE, null);
  }

  /** What to do with a frame that could not be decoded (or was not text), at {@code nanos}. */
  public Step onBadFrame(ProtocolException e, long nanos) {
    if (state == State.CLOSED) {
      return Ignore.INSTANCE;
    }
    if (state != State.OPEN || e.code().sessionLost()) {
      return end(e.code(), e.detail());
    }
    Step limited = take(nanos);
    return limited != null ? limited : new Refuse(e.code(), e.detail());
  }

  /**
   * What to do with a ping arriving at {@code nanos}. It takes a token like any frame, before the
   * connect as after, so a socket cannot stream pings for free: {@code null} when the frame is
   * within the bucket (a ping is then answered), {@link Ignore} when it is beyond (a ping gets no
   * pong), {@link End} ({@link ErrorCode#RATE_LIMIT_EXCEEDED}) past the overdraft.
   */
  public Step onControlFrame(long nanos) {
    if (state == State.CLOSED) {
      return Ignore.INSTANCE;
    }
    Step limited = take(nanos);
    return limited instanceof Refuse ? Ignore.INSTANCE : limited;
  }

  /**
   * The token of a {@code refresh} was verified and belongs to {@code subject}: {@code null} when
   * it is the session's user's (the session takes its expiry), else a refusal ({@code
   * IDENTITY_MISMATCH}; the session keeps its former token).
   */
  public Step onReauthenticated(String subject) {
    return subject.equals(user) ? null : new Refuse(ErrorCode.IDENTITY_MISMATCH, null);
  }

  /**
   * The keepalive sweep looks at the open session at {@code nanos}, its socket last read at {@code
   * lastReadNanos}: {@link Ping} when it has been silent for {@code intervalNanos}, {@link End}
   * ({@link ErrorCode#PING_TIMEOUT}) when a ping got no answer within {@code timeoutNanos}, else
   * {@code null}. The session stays open until its socket is closed. A rate-limit bucket that is
   * full again is dropped here (the next frame makes a new, full one).
   */
  public Step onKeepalive(long nanos, long lastReadNanos, long intervalNanos, long timeoutNanos) {
    if (state != State.OPEN) {
      return null;
    }
    if (bucket != null && bucket.isFull(nanos, limit.burst())) {
      bucket = null;
    }
    if (lastReadNanos < pingSentNanos) {
      // Nothing read since the ping.
      return nanos - pingSentNanos >= timeoutNanos ? new End(ErrorCode.PING_TIMEOUT, null) : null;
    }
    if (nanos - lastReadNanos >= intervalNanos) {
      pingSentNanos = nanos;
      return Ping.INSTANCE;
    }
    return null;
  }

  /**
   * The connect timer fired: {@link End} ({@link ErrorCode#CONNECT_TIMEOUT}) while the session is
   * not open yet, else {@code null}.
   */
  public Step onConnectTimeout() {
    return state == State.AWAITING_CONNECT || state == State.AUTHENTICATING
        ? end(ErrorCode.CONNECT_TIMEOUT, null)
        : null;
  }

  /**
   * Whether the user's {@code settings} are to be sent to the open session: not when they are the
   * ones it was sent last (one change heard twice, here and from the bus).
   */
  public boolean sendSettings(DeviceMessage.Settings settings) {
    if (state != State.OPEN || settings.equals(lastSettings)) {
      return false;
    }
    lastSettings = settings;
    return true;
  }

  /**
   * The device id of the session {@code id} opened by {@code connect}: its own, or a made-up one.
   */
  public static String deviceOf(Connect connect, UUID id) {
    return connect.device() != null ? connect.device() : ANONYMOUS + id;
  }

  /** Whether {@code device} is the id of a session that named none. */
  static boolean isAnonymous(String device) {
    return device.startsWith(ANONYMOUS);
  }

  /** The connect was verified and the device claimed at {@code nanos}: the session is open. */
  public void opened(
      UUID id, String userSub, String deviceId, ApplicationIds connectIds, long nanos) {
    if (state != State.AUTHENTICATING) {
      throw new IllegalStateException("opened in state " + state);
    }
    state = State.OPEN;
    sessionId = id;
    user = userSub;
    device = deviceId;
    applicationIds = connectIds;
  }

  /** The socket is gone; later frames are ignored. Returns the state it was in. */
  public State closed() {
    State was = state;
    state = State.CLOSED;
    return was;
  }

  private Step end(ErrorCode code, String detail) {
    state = State.CLOSED;
    return new End(code, detail);
  }

  /** Takes a token; a refusal step when there is none. */
  private Step take(long nanos) {
    if (bucket == null) {
      bucket = new ClockedBucket(limit.perSecond(), limit.burst(), nanos);
    }
    if (bucket.tryTake(nanos)) {
      return null;
    }
    // A refused frame still drains the bucket, below empty, down to the overdraft.
    if (bucket.takeOverdrawn(nanos) < -limit.overdraft()) {
      return end(ErrorCode.RATE_LIMIT_EXCEEDED, null);
    }
    return new Refuse(ErrorCode.SLOW_DOWN, null);
  }

  public State state() {
    return state;
  }

  /** Whether the session holds a rate-limit bucket now (for tests: an idle one holds none). */
  boolean holdsBucket() {
    return bucket != null;
  }

  /** The session id, once open. */
  public UUID sessionId() {
    return sessionId;
  }

  /** The user ({@code sub}), once open. */
  public String user() {
    return user;
  }

  /** The device id, once open. */
  public String device() {
    return device;
  }

  /** The connect's application ids ({@code null}: all granted), once open. */
  public ApplicationIds applicationIds() {
    return applicationIds;
  }
}
