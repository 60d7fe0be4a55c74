package org.presence.gateway.device;

import java.util.List;
import java.util.UUID;
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
 * frame goes in, a {@link Step} saying what to do comes out. {@link DeviceSessionHandler} carries
 * the steps out (asynchronous ones through {@link DeviceService}) and reports back with {@link
 * #opened} and {@link #closed}.
 *
 * <pre>
 * AWAITING_CONNECT --connect--> AUTHENTICATING --opened--> OPEN
 *        |                            |                      |
 *        +------- any error ----------+----- closed ---------+--> CLOSED
 * </pre>
 *
 * <p>Before the session is open, any other frame or any error ends the socket, whatever the errno's
 * sign: there is no session to keep. Once open, every frame (good or bad) takes a token from the
 * session's bucket; a frame beyond it is refused with {@link ErrorCode#SLOW_DOWN}, and a client
 * that keeps sending goes into overdraft until it loses the session ({@link
 * ErrorCode#RATE_LIMIT_EXCEEDED}). Pings take a token too, from the socket's first frame on (before
 * the connect as well, see {@link #onControlFrame}).
 *
 * <p>Kept small on purpose (a device holds its socket for days): a few fields, the ids shared with
 * the frames and the identity they came from. Not thread-safe; its handler calls it on the
 * channel's event loop.
 */
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

  private final RateLimit limit;
  private State state = State.AWAITING_CONNECT;
  private UUID sessionId;
  private String user;
  private String device;
  private ApplicationIds applicationIds;

  /**
   * The session's Bucket4j bucket, made full at the socket's first frame. (About 70 bytes a
   * session: a GCRA time in one {@code long} would take 8, but rate limiting stays with the
   * library, as everywhere else in the node.)
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
