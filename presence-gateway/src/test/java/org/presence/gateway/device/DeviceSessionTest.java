package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.presence.gateway.device.DeviceSession.Apply;
import org.presence.gateway.device.DeviceSession.Authenticate;
import org.presence.gateway.device.DeviceSession.End;
import org.presence.gateway.device.DeviceSession.Ignore;
import org.presence.gateway.device.DeviceSession.Refuse;
import org.presence.gateway.device.DeviceSession.Register;
import org.presence.gateway.device.DeviceSession.State;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Acknowledge;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Dismiss;
import org.presence.protocol.device.DeviceMessage.RegisterPush;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/** The device session state machine, without Netty; time is passed in as nanoseconds. */
class DeviceSessionTest {
  private static final long SECOND = 1_000_000_000L;
  private static final UUID ID = UUID.fromString("61539351-1f02-4b62-a136-205000ece41a");
  private static final Connect CONNECT = new Connect("token", ApplicationIds.of(421, 492), "phone");

  private final DeviceSession session = new DeviceSession(new DeviceSession.RateLimit(1.0, 3, 4));
  private long now = 5 * SECOND;

  private DeviceSession open() {
    assertThat(session.onFrame(CONNECT, now)).isEqualTo(new Authenticate(CONNECT));
    assertThat(session.state()).isEqualTo(State.AUTHENTICATING);
    session.opened(ID, "dev:alice", "phone", CONNECT.applicationIds(), now);
    assertThat(session.state()).isEqualTo(State.OPEN);
    return session;
  }

  private static StatusUpdate status(PresenceStatus s) {
    return new StatusUpdate(ID, s, null, null);
  }

  @Test
  void onFrame_whenConnectFirst_thenAuthenticate() {
    open();
    assertThat(session.user()).isEqualTo("dev:alice");
    assertThat(session.device()).isEqualTo("phone");
    assertThat(session.sessionId()).isEqualTo(ID);
  }

  @Test
  void onFrame_whenStatusBeforeConnect_thenEndWithNotConnected() {
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now))
        .isEqualTo(new End(ErrorCode.NOT_CONNECTED, null));
    assertThat(session.state()).isEqualTo(State.CLOSED);
    assertThat(session.onFrame(CONNECT, now)).isEqualTo(Ignore.INSTANCE);
  }

  @Test
  void onFrame_whileAuthenticating_thenEnd() {
    session.onFrame(CONNECT, now);
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now))
        .isEqualTo(new End(ErrorCode.NOT_CONNECTED, "wait for the connect answer"));
    assertThat(session.state()).isEqualTo(State.CLOSED);
    assertThat(session.onFrame(CONNECT, now)).isEqualTo(Ignore.INSTANCE);
  }

  @Test
  void onBadFrame_beforeConnect_thenEndWithItsErrnoWhateverTheSign() {
    ProtocolException malformed = new ProtocolException(ErrorCode.MALFORMED_JSON, "x");
    assertThat(session.onBadFrame(malformed, now))
        .isEqualTo(new End(ErrorCode.MALFORMED_JSON, "x"));
    assertThat(session.state()).isEqualTo(State.CLOSED);
  }

  @Test
  void onBadFrame_whenOpen_thenRefusedAndKept() {
    open();
    assertThat(session.onBadFrame(new ProtocolException(ErrorCode.NON_TEXT_FRAME), now))
        .isEqualTo(new Refuse(ErrorCode.NON_TEXT_FRAME, null));
    assertThat(session.state()).isEqualTo(State.OPEN);
    assertThat(session.onBadFrame(new ProtocolException(ErrorCode.FRAME_TOO_LARGE), now))
        .isEqualTo(new End(ErrorCode.FRAME_TOO_LARGE, null));
  }

  @Test
  void onFrame_whenStatus_thenApplyWithConnectListOrOverride() {
    open();
    assertThat(session.onFrame(new StatusUpdate(ID, PresenceStatus.AWAY, "m", null), now))
        .isEqualTo(new Apply(PresenceStatus.AWAY, "m", ApplicationIds.of(421, 492)));
    assertThat(
            session.onFrame(
                new StatusUpdate(ID, PresenceStatus.ONLINE, null, ApplicationIds.of(7)), now))
        .isEqualTo(new Apply(PresenceStatus.ONLINE, null, ApplicationIds.of(7)));
  }

  @Test
  void onFrame_whenOtherSessionId_thenUnknownSessionKept() {
    open();
    StatusUpdate other = new StatusUpdate(UUID.randomUUID(), PresenceStatus.ONLINE, null, null);
    assertThat(session.onFrame(other, now)).isEqualTo(new Refuse(ErrorCode.UNKNOWN_SESSION, null));
    assertThat(session.onFrame(new RegisterPush(UUID.randomUUID(), "x"), now))
        .isEqualTo(new Refuse(ErrorCode.UNKNOWN_SESSION, null));
    assertThat(session.state()).isEqualTo(State.OPEN);
  }

  @Test
  void onFrame_whenSecondConnect_thenAlreadyConnected() {
    open();
    assertThat(session.onFrame(CONNECT, now))
        .isEqualTo(new Refuse(ErrorCode.ALREADY_CONNECTED, null));
  }

  @Test
  void onFrame_whenRefreshOpen_thenReauthenticate_andBeforeConnect_thenEnd() {
    DeviceSession fresh = new DeviceSession(new DeviceSession.RateLimit(1.0, 3, 4));
    assertThat(fresh.onFrame(new DeviceMessage.Refresh("t"), now))
        .isEqualTo(new DeviceSession.End(ErrorCode.NOT_CONNECTED, null));
    open();
    assertThat(session.onFrame(new DeviceMessage.Refresh("t2"), now))
        .isEqualTo(new DeviceSession.Reauthenticate("t2"));
  }

  @Test
  void onFrame_whenClientSendsAServerMessage_thenUnknownType() {
    open();
    assertThat(session.onFrame(Ack.INSTANCE, now))
        .isEqualTo(new Refuse(ErrorCode.UNKNOWN_TYPE, null));
  }

  @Test
  void onFrame_whenRegisterPush_thenRegister() {
    open();
    assertThat(session.onFrame(new RegisterPush(ID, "xpi-1"), now))
        .isEqualTo(new Register("xpi-1"));
  }

  @Test
  void rateLimit_whenBurstSpent_thenSlowDownThenRefillThenLost() {
    open();
    for (int i = 0; i < 3; i++) {
      assertThat(session.onFrame(status(PresenceStatus.ONLINE), now)).isInstanceOf(Apply.class);
    }
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now))
        .isEqualTo(new Refuse(ErrorCode.SLOW_DOWN, null));
    // Bad frames count too.
    assertThat(session.onBadFrame(new ProtocolException(ErrorCode.MALFORMED_JSON), now))
        .isEqualTo(new Refuse(ErrorCode.SLOW_DOWN, null));
    // A client that waits gets tokens back: 1 per second, refused frames were debt.
    now += 3 * SECOND;
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now)).isInstanceOf(Apply.class);
    // One that keeps pushing goes into overdraft (4 frames) and loses the session.
    DeviceSession.Step last = null;
    int refused = 0;
    while (session.state() == State.OPEN) {
      last = session.onFrame(status(PresenceStatus.ONLINE), now);
      refused++;
      assertThat(refused).isLessThan(10);
    }
    assertThat(last).isEqualTo(new End(ErrorCode.RATE_LIMIT_EXCEEDED, null));
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now)).isEqualTo(Ignore.INSTANCE);
  }

  @Test
  void onKeepalive_dropsTheBucketOnceFullAgain_andTheNextFrameStartsAFullOne() {
    long interval = 30 * SECOND;
    long timeout = 10 * SECOND;
    open();
    for (int i = 0; i < 3; i++) {
      assertThat(session.onFrame(status(PresenceStatus.ONLINE), now)).isInstanceOf(Apply.class);
    }
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now))
        .isEqualTo(new Refuse(ErrorCode.SLOW_DOWN, null));
    // Two tokens back of three (the refused frame was debt): still held.
    now += 3 * SECOND;
    session.onKeepalive(now, now, interval, timeout);
    assertThat(session.holdsBucket()).isTrue();
    now += SECOND;
    session.onKeepalive(now, now, interval, timeout);
    assertThat(session.holdsBucket()).as("full again: an idle session holds no bucket").isFalse();
    // The next frames find the whole burst, then the same refusal as before.
    for (int i = 0; i < 3; i++) {
      assertThat(session.onFrame(status(PresenceStatus.ONLINE), now)).isInstanceOf(Apply.class);
    }
    assertThat(session.holdsBucket()).isTrue();
    assertThat(session.onFrame(status(PresenceStatus.ONLINE), now))
        .isEqualTo(new Refuse(ErrorCode.SLOW_DOWN, null));
  }

  @Test
  void rateLimit_whenSteadyWithinRate_thenNeverRefused() {
    open();
    for (int i = 0; i < 100; i++) {
      now += SECOND;
      assertThat(session.onFrame(status(PresenceStatus.ONLINE), now)).isInstanceOf(Apply.class);
    }
  }

  @Test
  void closed_returnsPreviousState() {
    open();
    assertThat(session.closed()).isEqualTo(State.OPEN);
    assertThat(session.closed()).isEqualTo(State.CLOSED);
  }

  @Test
  void onFrame_whenAcknowledgeOrDismiss_thenAnswerWithTheIds() {
    open();
    assertThat(session.onFrame(new Acknowledge(ID, List.of("a", "b")), now))
        .isEqualTo(new DeviceSession.Answer(true, List.of("a", "b")));
    assertThat(session.onFrame(new Dismiss(ID, List.of("c")), now))
        .isEqualTo(new DeviceSession.Answer(false, List.of("c")));
  }

  @Test
  void onFrame_whenAnswerNamesAnotherSession_thenRefuseUnknownSession() {
    open();
    assertThat(session.onFrame(new Acknowledge(UUID.randomUUID(), List.of("a")), now))
        .isEqualTo(new Refuse(ErrorCode.UNKNOWN_SESSION, null));
    assertThat(session.onFrame(new Dismiss(UUID.randomUUID(), List.of("a")), now))
        .isEqualTo(new Refuse(ErrorCode.UNKNOWN_SESSION, null));
  }

  @Test
  void onFrame_whenAnswerBeforeConnect_thenEndWithNotConnected() {
    assertThat(session.onFrame(new Dismiss(ID, List.of("a")), now))
        .isEqualTo(new End(ErrorCode.NOT_CONNECTED, null));
  }

  @Test
  void onFrame_whenRegisterPushFromASessionWithoutDevice_thenRefuseMissingField() {
    assertThat(session.onFrame(new Connect("token", null, null), now))
        .isInstanceOf(Authenticate.class);
    session.opened(
        ID, "dev:alice", DeviceSession.deviceOf(new Connect("token", null, null), ID), null, now);
    assertThat(session.device()).isEqualTo("~" + ID);
    assertThat(session.onFrame(new RegisterPush(ID, "xpi-1"), now))
        .isEqualTo(new Refuse(ErrorCode.MISSING_FIELD, "device (in the connect request)"));
    assertThat(DeviceSession.deviceOf(CONNECT, ID)).isEqualTo("phone");
  }

  @Test
  void onReauthenticated_byTheSessionsUser_thenKept_byAnother_thenRefuseIdentityMismatch() {
    open();
    assertThat(session.onReauthenticated("dev:alice")).isNull();
    assertThat(session.onReauthenticated("dev:bob"))
        .isEqualTo(new Refuse(ErrorCode.IDENTITY_MISMATCH, null));
    assertThat(session.state()).isEqualTo(State.OPEN);
  }

  @Test
  void onKeepalive_silentForTheInterval_thenPing_unanswered_thenEndWithPingTimeout() {
    long interval = 30 * SECOND;
    long timeout = 10 * SECOND;
    assertThat(session.onKeepalive(now, now, interval, timeout)).isNull();
    open();
    long lastRead = now;
    assertThat(session.onKeepalive(lastRead + interval - 1, lastRead, interval, timeout)).isNull();
    long pinged = lastRead + interval;
    assertThat(session.onKeepalive(pinged, lastRead, interval, timeout))
        .isEqualTo(DeviceSession.Ping.INSTANCE);
    assertThat(session.onKeepalive(pinged + timeout - 1, lastRead, interval, timeout)).isNull();
    assertThat(session.onKeepalive(pinged + timeout, lastRead, interval, timeout))
        .isEqualTo(new End(ErrorCode.PING_TIMEOUT, null));
    // Ended by its socket's close, not here.
    assertThat(session.state()).isEqualTo(State.OPEN);
  }

  @Test
  void onKeepalive_whenTheDeviceAnswersThePing_thenNoTimeout_andPingedAgainWhenSilentAgain() {
    long interval = 30 * SECOND;
    long timeout = 10 * SECOND;
    open();
    long pinged = now + interval;
    assertThat(session.onKeepalive(pinged, now, interval, timeout))
        .isEqualTo(DeviceSession.Ping.INSTANCE);
    long pong = pinged + SECOND;
    assertThat(session.onKeepalive(pinged + timeout, pong, interval, timeout)).isNull();
    assertThat(session.onKeepalive(pong + interval, pong, interval, timeout))
        .isEqualTo(DeviceSession.Ping.INSTANCE);
  }

  @Test
  void onConnectTimeout_beforeOpen_thenEnd_afterOpen_thenNothing() {
    assertThat(session.onConnectTimeout()).isEqualTo(new End(ErrorCode.CONNECT_TIMEOUT, null));
    assertThat(session.state()).isEqualTo(State.CLOSED);
    DeviceSession other = new DeviceSession(new DeviceSession.RateLimit(1.0, 3, 4));
    other.onFrame(CONNECT, now);
    assertThat(other.onConnectTimeout()).isEqualTo(new End(ErrorCode.CONNECT_TIMEOUT, null));
    assertThat(other.state()).isEqualTo(State.CLOSED);
  }

  @Test
  void sendSettings_onlyToAnOpenSession_andOnlyWhenChanged() {
    DeviceMessage.Settings s = new DeviceMessage.Settings(5, 10, 25, "At my desk", "Lunch");
    assertThat(session.sendSettings(s)).isFalse();
    open();
    assertThat(session.sendSettings(s)).isTrue();
    assertThat(session.sendSettings(new DeviceMessage.Settings(5, 10, 25, "At my desk", "Lunch")))
        .isFalse();
    assertThat(session.sendSettings(new DeviceMessage.Settings(5, 10, 25, "", "Lunch"))).isTrue();
    assertThat(session.onConnectTimeout()).isNull();
  }
}
