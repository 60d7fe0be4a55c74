package org.presence.protocol.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.protocol.device.DeviceFixtures.ASSERTION;
import static org.presence.protocol.device.DeviceFixtures.SESSION;
import static org.presence.protocol.device.DeviceFixtures.buf;
import static org.presence.protocol.device.DeviceFixtures.json;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.RegisterPush;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

class DeviceCodecTest {
  private final DeviceCodec codec = new DeviceCodec();

  private DeviceMessage decode(String text) {
    ByteBuf b = buf(text);
    try {
      return codec.decode(b);
    } finally {
      b.release();
    }
  }

  private static DeviceMessage decodeReply(String text) {
    ByteBuf b = buf(text);
    try {
      return DeviceCodec.decodeReply(b);
    } finally {
      b.release();
    }
  }

  @Test
  void decode_whenGoldenConnect_thenAllFields() {
    assertThat(decode(json("connect")))
        .isEqualTo(new Connect(ASSERTION, ApplicationIds.of(421, 492, 9592, 391), "phone-1"));
  }

  @Test
  void decode_whenMinimalConnect_thenOptionalFieldsAbsent() {
    assertThat(decode(json("connect-minimal"))).isEqualTo(new Connect(ASSERTION, null, null));
  }

  @Test
  void decode_whenGoldenStatus_thenStatusUpdate() {
    assertThat(decode(json("status")))
        .isEqualTo(new StatusUpdate(SESSION, PresenceStatus.ONLINE, null, null));
  }

  @Test
  void decode_whenFullStatus_thenMessageAndOverride() {
    assertThat(decode(json("status-full")))
        .isEqualTo(
            new StatusUpdate(
                SESSION, PresenceStatus.AWAY, "In a meeting ☕", ApplicationIds.of(391, 421)));
  }

  @Test
  void decode_whenTypeLastAndUnknownNestedFields_thenSameMessage() {
    assertThat(decode(json("status-reordered")))
        .isEqualTo(new StatusUpdate(SESSION, PresenceStatus.OFFLINE, null, ApplicationIds.of(391)));
  }

  @Test
  void decode_whenRegisterPush_thenPresenceId() {
    assertThat(decode(json("register-push")))
        .isEqualTo(new RegisterPush(SESSION, "8b4a1f6e-5c8d-4f2e-9a57-0c3e1d2b7f90"));
  }

  @Test
  void decode_whenNullFields_thenAbsent() {
    assertThat(
            decode(
                "{\"type\":\"connect\",\"assertion\":\"a\",\"device\":null,\"application_ids\":null}"))
        .isEqualTo(new Connect("a", null, null));
  }

  @Test
  void decode_whenEmptyMessage_thenNoMessage() {
    assertThat(
            decode(
                "{\"type\":\"status\",\"session_id\":\"" + SESSION
                    + "\",\"status\":\"away\",\"message\":\"\"}"))
        .isEqualTo(new StatusUpdate(SESSION, PresenceStatus.AWAY, null, null));
  }

  @Test
  void decode_whenRepeatedAndUnorderedIds_thenSortedSet() {
    Connect c =
        (Connect)
            decode("{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[9,3,9,1,3]}");
    assertThat(c.applicationIds()).isEqualTo(ApplicationIds.of(1, 3, 9));
    assertThat(c.applicationIds().size()).isEqualTo(3);
  }

  @Test
  void decode_whenEmptyIdList_thenEmptySetNotAbsent() {
    Connect c = (Connect) decode("{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[]}");
    assertThat(c.applicationIds()).isSameAs(ApplicationIds.NONE);
  }

  @Test
  void decode_whenUpperCaseSessionId_thenSameUuid() {
    StatusUpdate u =
        (StatusUpdate)
            decode(DeviceFixtures.status(SESSION, "online").replace(SESSION.toString(),
                SESSION.toString().toUpperCase(java.util.Locale.ROOT)));
    assertThat(u.sessionId()).isEqualTo(SESSION);
  }

  @Test
  void decode_whenDirectPooledBuffer_thenSameAsHeap() {
    ByteBuf direct = PooledByteBufAllocator.DEFAULT.directBuffer();
    try {
      direct.writeBytes(json("status-full").getBytes(StandardCharsets.UTF_8));
      direct.readerIndex(0);
      assertThat(codec.decode(direct)).isEqualTo(decode(json("status-full")));
      assertThat(direct.readerIndex()).isZero();
    } finally {
      direct.release();
    }
  }

  @Test
  void decode_whenSlicedHeapBuffer_thenReadsOnlyTheSlice() {
    byte[] frame = json("status").getBytes(StandardCharsets.UTF_8);
    ByteBuf wide = Unpooled.buffer(frame.length + 20);
    try {
      wide.writeBytes("garbage{{{".getBytes(StandardCharsets.US_ASCII));
      wide.writeBytes(frame);
      wide.writeBytes("}}}garbage".getBytes(StandardCharsets.US_ASCII));
      ByteBuf slice = wide.slice(10, frame.length);
      assertThat(codec.decode(slice))
          .isEqualTo(new StatusUpdate(SESSION, PresenceStatus.ONLINE, null, null));
    } finally {
      wide.release();
    }
  }

  static List<DeviceMessage> requests() {
    return List.of(
        new Connect(ASSERTION, ApplicationIds.of(421, 492), "phone-1"),
        new Connect(ASSERTION, null, null),
        new Connect("x", ApplicationIds.NONE, "a:b.c_d-e"),
        new StatusUpdate(SESSION, PresenceStatus.UNAVAILABLE, "gone \"fishing\" \\ 🎣", null),
        new StatusUpdate(UUID.randomUUID(), PresenceStatus.ONLINE, null, ApplicationIds.of(7)),
        new RegisterPush(SESSION, "xpi-123"));
  }

  @ParameterizedTest
  @MethodSource("requests")
  void encode_thenDecode_roundTripsEveryRequest(DeviceMessage m) {
    assertThat(decode(new String(DeviceCodec.toBytes(m), StandardCharsets.UTF_8))).isEqualTo(m);
  }

  static List<DeviceMessage> replies() {
    return List.of(
        new Connected(SESSION),
        new Connected(new UUID(0, 0)),
        new Connected(new UUID(-1, -1)),
        Ack.INSTANCE,
        ErrorReply.of(ErrorCode.INVALID_ASSERTION, null),
        ErrorReply.of(ErrorCode.SESSION_REPLACED, "by 127.0.0.1"));
  }

  @ParameterizedTest
  @MethodSource("replies")
  void encode_thenDecodeReply_roundTripsEveryReply(DeviceMessage m) {
    assertThat(decodeReply(new String(DeviceCodec.toBytes(m), StandardCharsets.UTF_8)))
        .isEqualTo(m);
  }

  @Test
  void encode_whenAck_thenExactBytes() {
    assertThat(new String(DeviceCodec.toBytes(Ack.INSTANCE), StandardCharsets.US_ASCII))
        .isEqualTo("{\"result\":true}");
  }

  @Test
  void encode_whenConnected_thenCanonicalUuid() {
    assertThat(new String(DeviceCodec.toBytes(new Connected(SESSION)), StandardCharsets.US_ASCII))
        .isEqualTo("{\"result\":true,\"session_id\":\"61539351-1f02-4b62-a136-205000ece41a\"}");
  }

  @Test
  void decodeReply_whenGoldenAnswers_thenValues() {
    assertThat(decodeReply(json("connected"))).isEqualTo(new Connected(SESSION));
    assertThat(decodeReply(json("ack"))).isEqualTo(Ack.INSTANCE);
    assertThat(decodeReply(json("error"))).isEqualTo(new ErrorReply(34, "Invalid assertion"));
    assertThat(((ErrorReply) decodeReply(json("error"))).code())
        .contains(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void encode_whenErrorReply_thenSameShapeAsErrorBody() {
    byte[] ours = DeviceCodec.toBytes(ErrorReply.of(ErrorCode.SLOW_DOWN, null));
    ByteBuf body = Unpooled.buffer();
    try {
      org.presence.protocol.api.ErrorBody.write(ErrorCode.SLOW_DOWN, null, body);
      assertThat(new String(ours, StandardCharsets.UTF_8))
          .isEqualTo(body.toString(StandardCharsets.UTF_8));
    } finally {
      body.release();
    }
  }
}
