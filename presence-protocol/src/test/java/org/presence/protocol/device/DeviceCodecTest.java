package org.presence.protocol.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.presence.protocol.device.DeviceFixtures.ASSERTION;
import static org.presence.protocol.device.DeviceFixtures.SESSION;
import static org.presence.protocol.device.DeviceFixtures.buf;
import static org.presence.protocol.device.DeviceFixtures.json;
import static org.presence.protocol.device.DeviceFixtures.reply;

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
import org.presence.protocol.device.DeviceMessage.Acknowledge;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.Dismiss;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.device.DeviceMessage.Notifications;
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
  void decode_whenGoldenAcknowledge_thenIds() {
    assertThat(decode(json("acknowledge")))
        .isEqualTo(new Acknowledge(SESSION, List.of("Yq3kP0c2TnW8x1bLm9sRfA")));
  }

  @Test
  void decode_whenGoldenDismissTypeLast_thenIdsInOrder() {
    assertThat(decode(json("dismiss")))
        .isEqualTo(
            new Dismiss(SESSION, List.of("Yq3kP0c2TnW8x1bLm9sRfA", "b7Qx-2Lr_0aZk4MnT8vWpE")));
  }

  @Test
  void decode_whenHundredIds_thenAllKept() {
    List<String> ids = java.util.stream.IntStream.range(0, 100).mapToObj(i -> "id-" + i).toList();
    String frame =
        new String(DeviceCodec.toBytes(new Dismiss(SESSION, ids)), StandardCharsets.UTF_8);
    DeviceCodec wide = new DeviceCodec(new DeviceCodec.Limits(4096, 100, 140));
    ByteBuf b = buf(frame);
    try {
      assertThat(((Dismiss) wide.decode(b)).ids()).isEqualTo(ids);
    } finally {
      b.release();
    }
  }

  @Test
  void reply_whenGoldenNotifications_thenEveryItem() {
    assertThat(reply(json("notifications")))
        .isEqualTo(
            new Notifications(
                List.of(
                    new LiveNotification(
                        "Yq3kP0c2TnW8x1bLm9sRfA",
                        421,
                        "BeerChat",
                        "Fred wants you to join #ale",
                        "https://beerchat.example.com/rooms/ale",
                        1700000060000L,
                        false),
                    new LiveNotification(
                        "b7Qx-2Lr_0aZk4MnT8vWpE",
                        492,
                        "Tavern",
                        "<b>Last call</b> & \"cheers\"",
                        "app://tavern.example.com/open",
                        1700000005000L,
                        true))));
  }

  @Test
  void refresh_decodes_andTheAnswersCarryExpiresAt() {
    assertThat(decode("{\"type\":\"refresh\",\"assertion\":\"eyJ.x.y\"}"))
        .isEqualTo(new DeviceMessage.Refresh("eyJ.x.y"));
    assertThatThrownBy(() -> decode("{\"type\":\"refresh\"}"))
        .isInstanceOfSatisfying(
            org.presence.protocol.error.ProtocolException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.MISSING_FIELD));
    java.util.UUID id = java.util.UUID.fromString("6153b6c5-0c8a-4c6c-9d1e-2d0c3a0ee41a");
    String connected =
        new String(
            DeviceCodec.toBytes(new DeviceMessage.Connected(id, 1764770400000L)),
            java.nio.charset.StandardCharsets.UTF_8);
    assertThat(connected)
        .isEqualTo("{\"result\":true,\"session_id\":\"" + id + "\",\"expires_at\":1764770400000}");
    assertThat(reply(connected)).isEqualTo(new DeviceMessage.Connected(id, 1764770400000L));
    assertThat(reply("{\"result\":true,\"session_id\":\"" + id + "\"}"))
        .isEqualTo(new DeviceMessage.Connected(id));
    String refreshed =
        new String(
            DeviceCodec.toBytes(new DeviceMessage.Refreshed(1764771000000L)),
            java.nio.charset.StandardCharsets.UTF_8);
    assertThat(refreshed).isEqualTo("{\"result\":true,\"expires_at\":1764771000000}");
    assertThat(reply(refreshed)).isEqualTo(new DeviceMessage.Refreshed(1764771000000L));
    assertThat(reply("{\"result\":true}")).isEqualTo(DeviceMessage.Ack.INSTANCE);
  }

  @Test
  void encode_whenNotifications_thenMissedOnlyWhenTrue() {
    String text =
        new String(
            DeviceCodec.toBytes(
                new Notifications(
                    List.of(
                        new LiveNotification("a", 1, "S", "m", "https://x.example", 5, false),
                        new LiveNotification("b", 2, "T", "n", "https://y.example", 6, true)))),
            StandardCharsets.UTF_8);
    assertThat(text)
        .isEqualTo(
            "{\"notifications\":[{\"id\":\"a\",\"appid\":1,\"source\":\"S\",\"message\":\"m\","
                + "\"action\":\"https://x.example\",\"expires\":5},{\"id\":\"b\",\"appid\":2,"
                + "\"source\":\"T\",\"message\":\"n\",\"action\":\"https://y.example\","
                + "\"expires\":6,\"missed\":true}]}");
  }

  @Test
  void encode_whenSettings_thenTheFieldsOfApiSettings_andClientsReadThemBack() {
    DeviceMessage.Settings s = new DeviceMessage.Settings(5, 10, 25, "At my <desk>", "");
    String text = new String(DeviceCodec.toBytes(s), StandardCharsets.UTF_8);
    assertThat(text)
        .isEqualTo(
            "{\"settings\":{\"online_within_minutes\":5,\"away_after_minutes\":10,"
                + "\"offline_after_minutes\":25,\"custom_status\":\"At my \\u003Cdesk\\u003E\","
                + "\"away_message\":\"\"}}");
    assertThat(reply(text)).isEqualTo(s);
  }

  @Test
  void encodeNotifications_splitsByCountAndBySize_andEveryFrameDecodes() {
    List<LiveNotification> small =
        java.util.stream.IntStream.range(0, 25)
            .mapToObj(
                i -> new LiveNotification("s" + i, 1, "S", "m" + i, "https://x.example", 9, false))
            .toList();
    List<LiveNotification> got = new java.util.ArrayList<>();
    int from = 0;
    List<Integer> sizes = new java.util.ArrayList<>();
    while (from < small.size()) {
      ByteBuf b = Unpooled.buffer();
      try {
        int n = DeviceCodec.encodeNotifications(small, from, 10, b);
        sizes.add(n);
        got.addAll(((Notifications) reply(b)).notifications());
        from += n;
      } finally {
        b.release();
      }
    }
    assertThat(sizes).containsExactly(10, 10, 5);
    assertThat(got).isEqualTo(small);

    // Worst-case items: every character escaped. Frames stay near the soft size.
    String heavy = "<".repeat(512);
    List<LiveNotification> big =
        java.util.stream.IntStream.range(0, 30)
            .mapToObj(
                i ->
                    new LiveNotification(
                        "b" + i,
                        1,
                        "<".repeat(100),
                        heavy,
                        "https://x.example/?" + "&".repeat(400),
                        9,
                        false))
            .toList();
    from = 0;
    got.clear();
    while (from < big.size()) {
      ByteBuf b = Unpooled.buffer();
      try {
        int n = DeviceCodec.encodeNotifications(big, from, 100, b);
        assertThat(n).isPositive();
        assertThat(b.readableBytes()).isLessThan(DeviceCodec.NOTIFICATIONS_FRAME_BYTES + 8 * 1024);
        got.addAll(((Notifications) reply(b)).notifications());
        from += n;
      } finally {
        b.release();
      }
    }
    assertThat(got).isEqualTo(big);
  }

  @Test
  void encode_whenMarkupAndControlsInMessage_thenEscapedAndDecodedUnchanged() {
    String message = "<script>alert('x')</script> & \"q\" \\ \n\t é 🎣";
    LiveNotification n =
        new LiveNotification("a", 1, "<i>S</i>", message, "https://x.example/?a=1&b=2", 5, false);
    String text =
        new String(DeviceCodec.toBytes(new Notifications(List.of(n))), StandardCharsets.UTF_8);
    assertThat(text)
        .doesNotContain("<")
        .doesNotContain(">")
        .doesNotContain("&")
        .doesNotContain("'");
    assertThat(text).contains("\\u003Cscript\\u003E");
    assertThat(reply(text)).isEqualTo(new Notifications(List.of(n)));
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
                "{\"type\":\"status\",\"session_id\":\""
                    + SESSION
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
    Connect c =
        (Connect) decode("{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[]}");
    assertThat(c.applicationIds()).isSameAs(ApplicationIds.NONE);
  }

  @Test
  void decode_whenUpperCaseSessionId_thenSameUuid() {
    StatusUpdate u =
        (StatusUpdate)
            decode(
                DeviceFixtures.status(SESSION, "online")
                    .replace(
                        SESSION.toString(), SESSION.toString().toUpperCase(java.util.Locale.ROOT)));
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
        new RegisterPush(SESSION, "xpi-123"),
        new Acknowledge(SESSION, List.of("a", "b.c:d_e-f")),
        new Dismiss(UUID.randomUUID(), List.of("x".repeat(64))));
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
        ErrorReply.of(ErrorCode.SESSION_REPLACED, "by 127.0.0.1"),
        new Notifications(List.of()),
        new Notifications(
            List.of(new LiveNotification("id", 7, "src", "msg ☕", "app://x/y", 123, true))));
  }

  @ParameterizedTest
  @MethodSource("replies")
  void encode_thenDecodeReply_roundTripsEveryReply(DeviceMessage m) {
    assertThat(reply(new String(DeviceCodec.toBytes(m), StandardCharsets.UTF_8))).isEqualTo(m);
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
  void reply_whenGoldenAnswers_thenValues() {
    assertThat(reply(json("connected"))).isEqualTo(new Connected(SESSION));
    assertThat(reply(json("ack"))).isEqualTo(Ack.INSTANCE);
    assertThat(reply(json("error"))).isEqualTo(new ErrorReply(34, "Invalid assertion"));
    assertThat(((ErrorReply) reply(json("error"))).code()).contains(ErrorCode.INVALID_ASSERTION);
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
