package org.presence.protocol.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.presence.protocol.api.NotificationBatchCodec.Ack;
import org.presence.protocol.api.NotificationBatchCodec.Item;
import org.presence.protocol.api.NotificationBatchCodec.ItemResult;
import org.presence.protocol.api.NotificationBatchCodec.Judged;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class NotificationBatchCodecTest {
  private static final String PUID = "q1Yc0XGmYHnX3Gc6Xv7R8Tz0aBcDeFgHiJkLmNoPqRs";
  private static final NotificationBatchCodec CODEC =
      new NotificationBatchCodec(NotificationBatchCodec.Limits.defaults());

  static String fixture(String name) {
    try (InputStream in =
        NotificationBatchCodecTest.class.getResourceAsStream("/api/" + name + ".json")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Judged> decode(NotificationBatchCodec codec, String body) {
    ByteBuf b = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    try {
      List<Judged> out = codec.decode(b);
      assertThat(b.readerIndex()).isZero();
      return out;
    } finally {
      b.release();
    }
  }

  private static List<Judged> decode(String body) {
    return decode(CODEC, body);
  }

  private static String item(String members) {
    return "[{" + members + "}]";
  }

  @Test
  void decode_whenGoldenBatch_thenEveryItem() {
    assertThat(decode(fixture("notification-batch")))
        .containsExactly(
            new Judged(
                new Item(
                    PUID,
                    "Fred wants you to join #ale",
                    "https://beerchat.example.com/rooms/ale",
                    null,
                    false),
                null),
            new Judged(
                new Item(
                    "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1enF1dXo",
                    "<b>Last call</b>",
                    "app://tavern.example.com/open",
                    300,
                    true),
                null));
  }

  @Test
  void encodeBatch_thenDecode_roundTrips() {
    List<Item> items =
        List.of(
            new Item(PUID, "héllo \"world\" \n 🎣", "https://x.example/a?b=1&c=2", null, false),
            new Item("other", "<script>", "app://a.example/", 3600, true));
    ByteBuf b = Unpooled.buffer();
    try {
      NotificationBatchCodec.encodeBatch(items, b);
      assertThat(CODEC.decode(b)).extracting(Judged::item).containsExactlyElementsOf(items);
    } finally {
      b.release();
    }
  }

  @Test
  void decode_whenItemsBadAndGood_thenEachJudgedAlone() {
    List<Judged> out =
        decode(
            "[{\"UID\":\"a\",\"message\":\"m\",\"action\":\"javascript:alert(1)\"},"
                + "{\"UID\":\"b\",\"message\":\"ok\",\"action\":\"https://x.example\"},"
                + "42,"
                + "{\"UID\":\"c\",\"message\":\""
                + "x".repeat(513)
                + "\",\"action\":\"https://x.example\"},"
                + "{\"UID\":\"d\",\"message\":\"ok\",\"action\":\"https://x.example\",\"extra\":{\"deep\":[1,2]}}]");
    assertThat(out).extracting(Judged::ok).containsExactly(false, true, false, false, true);
    assertThat(out.get(1).item().uid()).isEqualTo("b");
    assertThat(out.get(4).item().uid()).isEqualTo("d");
    assertThat(out.get(0).error().code()).isEqualTo(ErrorCode.INVALID_NOTIFICATION);
    assertThat(out.get(2).error().detail()).isEqualTo("expected an object");
  }

  /**
   * Each item's action gets its own verdict when the batch repeats or alternates actions (the codec
   * checks an action again only when it differs from the last one checked).
   */
  @Test
  void decode_whenActionsRepeatAndAlternate_thenEachItemGetsItsOwnActionsVerdict() {
    String good = "https://x.example/open";
    String bad = "https://x.example:99999/open";
    String other = "https://y.example/";
    String[] actions = {good, good, bad, bad, good, other, bad, other, other};
    StringBuilder json = new StringBuilder("[");
    for (int i = 0; i < actions.length; i++) {
      json.append(i == 0 ? "" : ",")
          .append("{\"UID\":\"u")
          .append(i)
          .append("\",\"message\":\"m\",\"action\":\"")
          .append(actions[i])
          .append("\"}");
    }
    List<Judged> out = decode(json.append("]").toString());
    assertThat(out)
        .extracting(Judged::ok)
        .containsExactly(true, true, false, false, true, true, false, true, true);
    assertThat(out.get(2).error().detail()).isEqualTo("action: port must be 1 to 65535");
    assertThat(out.get(3).error().detail()).isEqualTo(out.get(2).error().detail());
    assertThat(out.get(6).error().detail()).isEqualTo(out.get(2).error().detail());
    assertThat(out.get(5).item().action()).isEqualTo(other);
    assertThat(out.get(4).item().action()).isEqualTo(good);
  }

  /**
   * Well-formed JSON whose value is too long for any field (a ttl of 25 digits or more, a message
   * over the parser's usual 64 KiB string limit) is that item's error: a good sibling is stored.
   */
  @Test
  void decode_whenAValueIsFarTooLong_thenOnlyItsItemIsRefused() {
    String good = "{\"UID\":\"a\",\"message\":\"good\",\"action\":\"https://x.example\"}";
    String a = "\"action\":\"https://x.example\"";
    List<Judged> out =
        decode(
            "["
                + good
                + ",{\"UID\":\"b\",\"message\":\"bad\","
                + a
                + ",\"ttl\":1000000000000000000000000}"
                + ",{\"UID\":\"c\",\"message\":\"bad\","
                + a
                + ",\"ttl\":-"
                + "9".repeat(100_000)
                + "}"
                + ",{\"UID\":\"d\",\"message\":\""
                + "x".repeat(70_000)
                + "\","
                + a
                + "},{\"UID\":\"e\",\"message\":\"bad\","
                + a
                + ",\"ttl\":1"
                + "0".repeat(30)
                + ".5},"
                + good
                + "]");
    assertThat(out).extracting(Judged::ok).containsExactly(true, false, false, false, false, true);
    assertThat(out.get(1).error().reason())
        .isEqualTo("Invalid notification: ttl: 5 to 3600 seconds");
    assertThat(out.get(2).error().detail()).isEqualTo("ttl: 5 to 3600 seconds");
    assertThat(out.get(3).error().detail()).isEqualTo("message: at most 512 characters");
    assertThat(out.get(4).error().detail()).isEqualTo("ttl: expected whole seconds");
  }

  static Stream<Arguments> badItems() {
    String a = "\"action\":\"https://x.example\"";
    String m = "\"message\":\"hi\"";
    String u = "\"UID\":\"" + PUID + "\"";
    return Stream.of(
        Arguments.of(item(m + "," + a), "UID is required"),
        Arguments.of(item(u + "," + a), "message is required"),
        Arguments.of(item(u + "," + m), "action is required"),
        Arguments.of(item("\"UID\":null," + m + "," + a), "UID is required"),
        Arguments.of(item("\"UID\":5," + m + "," + a), "UID: expected a string"),
        Arguments.of(item(u + ",\"message\":[\"hi\"]," + a), "message: expected a string"),
        Arguments.of(item(u + ",\"message\":{\"a\":1}," + a), "message: expected a string"),
        Arguments.of(item(u + "," + m + ",\"action\":7"), "action: expected a string"),
        Arguments.of(item(u + ",\"message\":\"\"," + a), "message: empty"),
        Arguments.of(
            item(u + ",\"message\":\"" + "é".repeat(513) + "\"," + a),
            "message: at most 512 characters"),
        Arguments.of(
            item(u + ",\"message\":\"a\\u0000b\"," + a), "message: control character U+0000"),
        Arguments.of(
            item(u + ",\"message\":\"a\\u001bb\"," + a), "message: control character U+001B"),
        Arguments.of(item(u + ",\"message\":\"a\\rb\"," + a), "message: control character U+000D"),
        Arguments.of(
            item(u + ",\"message\":\"a\\u007fb\"," + a), "message: control character U+007F"),
        Arguments.of(
            item(u + ",\"message\":\"a\\u0085b\"," + a), "message: control character U+0085"),
        Arguments.of(
            item(u + ",\"message\":\"evil\\u202Etxt.exe\"," + a),
            "message: bidirectional control U+202E"),
        Arguments.of(
            item(u + ",\"message\":\"x\\u2066y\"," + a), "message: bidirectional control U+2066"),
        Arguments.of(item(u + ",\"message\":\"x\\ud800y\"," + a), "message: unpaired surrogate"),
        Arguments.of(item(u + ",\"message\":\"x\\udc00\"," + a), "message: unpaired surrogate"),
        Arguments.of(item(u + "," + m + ",\"action\":\"\""), "action: empty"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x.example/" + "p".repeat(500) + "\""),
            "action: at most 512 characters"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"javascript:alert(1)\""),
            "action: a URI with scheme app, http, https"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"data:text/html,<b>x</b>\""),
            "action: a URI with scheme app, http, https"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"file:///etc/passwd\""),
            "action: a URI with scheme app, http, https"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"/relative/path\""),
            "action: a URI with scheme app, http, https"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://a b.example\""),
            "action: white space or control character"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x.example/\\n\""),
            "action: white space or control character"),
        // Outside ASCII (an emoji, an accented letter, an unpaired surrogate): not yet encoded.
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://a.example/\ud83d\ude00\""),
            "action: not a valid URI: percent-encode what is outside ASCII"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://caf\u00e9.example/\""),
            "action: not a valid URI: percent-encode what is outside ASCII"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://a.example/\\udc00\""),
            "action: not a valid URI: percent-encode what is outside ASCII"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https:///nohost\""),
            "action: https URI needs a host and no user"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://bank.example@evil.example/\""),
            "action: https URI needs a host and no user"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x.example/%zz\""), "action: not a valid URI"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x.example:80a/\""),
            "action: https URI needs a host and no user"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x.example/[a]\""),
            "action: https URI needs a host and no user"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x\\\\y.example/\""),
            "action: not a valid URI"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://x.example/a\\\"b\""),
            "action: not a valid URI"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"app:no-slashes\""),
            "action: app URI needs a host and no user"),
        // A port beyond 65535 (or 0), and a host that is no DNS name nor IP address.
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://ok.example:99999/\""),
            "action: port must be 1 to 65535"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://ok.example:0\""),
            "action: port must be 1 to 65535"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"http://ok.example:99999999999/\""),
            "action: port must be 1 to 65535"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://ok..example/\""),
            "action: host must be a DNS name or an IP address"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"app://.example\""),
            "action: host must be a DNS name or an IP address"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://-ok.example/\""),
            "action: host must be a DNS name or an IP address"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://under_score.example/\""),
            "action: host must be a DNS name or an IP address"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://256.1.1.1/\""),
            "action: host must be a DNS name or an IP address"),
        Arguments.of(
            item(u + "," + m + ",\"action\":\"https://" + "a".repeat(64) + ".example/\""),
            "action: host must be a DNS name or an IP address"),
        Arguments.of(item(u + "," + m + "," + a + ",\"ttl\":4"), "ttl: 5 to 3600 seconds"),
        Arguments.of(item(u + "," + m + "," + a + ",\"ttl\":3601"), "ttl: 5 to 3600 seconds"),
        Arguments.of(item(u + "," + m + "," + a + ",\"ttl\":-5"), "ttl: 5 to 3600 seconds"),
        Arguments.of(
            item(u + "," + m + "," + a + ",\"ttl\":99999999999"), "ttl: 5 to 3600 seconds"),
        Arguments.of(item(u + "," + m + "," + a + ",\"ttl\":10.5"), "ttl: expected whole seconds"),
        Arguments.of(
            item(u + "," + m + "," + a + ",\"ttl\":\"10\""), "ttl: expected whole seconds"),
        Arguments.of(
            item(u + "," + m + "," + a + ",\"receipts\":\"yes\""),
            "receipts: expected true or false"),
        Arguments.of(
            item(u + "," + m + "," + a + ",\"receipts\":1"), "receipts: expected true or false"),
        Arguments.of(item(u + "," + m + "," + m + "," + a), "duplicate field message"),
        Arguments.of(item(u + "," + a + ",\"UID\":\"other\"," + m), "duplicate field UID"),
        // The first problem in document order wins.
        Arguments.of(item("\"ttl\":1,\"message\":\"\"," + u + "," + a), "ttl: 5 to 3600 seconds"));
  }

  @ParameterizedTest(name = "[{index}] {1}")
  @MethodSource("badItems")
  void decode_whenItemBad_thenInvalidNotificationWithDetail(String body, String detail) {
    List<Judged> out = decode(body);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).ok()).as(body).isFalse();
    assertThat(out.get(0).error().code()).isEqualTo(ErrorCode.INVALID_NOTIFICATION);
    assertThat(out.get(0).error().detail()).isEqualTo(detail);
    assertThat(out.get(0).error().reason().getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(ErrorCode.MAX_REASON_BYTES);
  }

  @Test
  void decode_whenEdgeValues_thenAccepted() {
    String u = "\"UID\":\"" + PUID + "\"";
    assertThat(
            decode(
                item(
                    u
                        + ",\"message\":\""
                        + "🎣".repeat(512)
                        + "\",\"action\":\"HTTPS://X.example\","
                        + "\"ttl\":5,\"receipts\":false,\"unknown\":null")))
        .allMatch(Judged::ok);
    assertThat(
            decode(
                item(
                    u
                        + ",\"message\":\"line\\nnext\\ttab\",\"action\":\"app://a.example\",\"ttl\":3600")))
        .allMatch(Judged::ok);
    for (String action :
        List.of(
            "https://[::1]:8443/x?y=%20z#frag",
            "http://127.0.0.1:8080",
            "https://ok.example:65535/",
            "https://ok.example:1",
            "https://ok.example.:443/trailing-dot",
            "https://" + "a".repeat(63) + ".example/",
            "app://a-b.c9.example",
            "https://x.example/a/b;c=d?e=f&g=h!$'()*+,~",
            "app://tavern.example.com/open?room=ale")) {
      assertThat(decode(item(u + ",\"message\":\"m\",\"action\":\"" + action + "\"")))
          .as(action)
          .allMatch(Judged::ok);
    }
    assertThat(
            decode(
                    item(
                        u
                            + ",\"message\":\"x\",\"action\":\"https://x.example\",\"ttl\":null,\"receipts\":null"))
                .get(0)
                .item())
        .isEqualTo(new Item(PUID, "x", "https://x.example", null, false));
  }

  @Test
  void decode_whenCustomSchemeAllowed_thenOpaqueUriAccepted() {
    NotificationBatchCodec codec =
        new NotificationBatchCodec(
            new NotificationBatchCodec.Limits(
                10, 512, 5, 3600, java.util.Set.of("https", "beerchat"), 4096));
    assertThat(
            decode(codec, item("\"UID\":\"u\",\"message\":\"m\",\"action\":\"beerchat:room/42\"")))
        .allMatch(Judged::ok);
    assertThat(
            decode(codec, item("\"UID\":\"u\",\"message\":\"m\",\"action\":\"app://x.example\"")))
        .noneMatch(Judged::ok);
  }

  static Stream<Arguments> badBodies() {
    String one = "{\"UID\":\"u\",\"message\":\"m\",\"action\":\"https://x.example\"}";
    return Stream.of(
        Arguments.of("", ErrorCode.MALFORMED_JSON),
        Arguments.of(one, ErrorCode.MALFORMED_JSON),
        Arguments.of("\"x\"", ErrorCode.MALFORMED_JSON),
        Arguments.of("[" + one, ErrorCode.MALFORMED_JSON),
        Arguments.of("[" + one + ",", ErrorCode.MALFORMED_JSON),
        Arguments.of("[" + one + "] []", ErrorCode.MALFORMED_JSON),
        Arguments.of("[" + one + "]x", ErrorCode.MALFORMED_JSON),
        Arguments.of("[{\"UID\":\"u\",}]", ErrorCode.MALFORMED_JSON),
        Arguments.of("[{'UID':'u'}]", ErrorCode.MALFORMED_JSON),
        Arguments.of("[" + "[".repeat(40) + "]".repeat(40) + "]", ErrorCode.MALFORMED_JSON),
        Arguments.of("[{\"UID\":\"u\",\"ttl\":NaN}]", ErrorCode.MALFORMED_JSON),
        Arguments.of("[]", ErrorCode.INVALID_NOTIFICATION),
        Arguments.of("  [ ]  ", ErrorCode.INVALID_NOTIFICATION));
  }

  @ParameterizedTest(name = "[{index}] {1} {0}")
  @MethodSource("badBodies")
  void decode_whenBodyBad_thenWholeBatchRefused(String body, ErrorCode code) {
    ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> decode(body));
    assertThat(e).as(body).isNotNull();
    assertThat(e.code()).isEqualTo(code);
    assertThat(e.reason())
        .doesNotContain("Jackson", "StreamRead", "Feature", "`", "Unexpected", "exceeds", "(");
  }

  @Test
  void decode_whenNestedTooDeepOrNotJson_thenPlainReason() {
    String deep = "[" + "[".repeat(40) + "]".repeat(40) + "]";
    assertThat(catchThrowableOfType(ProtocolException.class, () -> decode(deep)).reason())
        .isEqualTo("Malformed JSON: nested deeper than 16");
    assertThat(
            catchThrowableOfType(
                    ProtocolException.class, () -> decode("[{\"UID\":\"u\",\"ttl\":Infinity}]"))
                .reason())
        .startsWith("Malformed JSON: not JSON: invalid number at byte ");
  }

  @Test
  void decode_whenTenThousandItems_thenBatchTooLargeWithoutReadingThemAll() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < 10_000; i++) {
      b.append(i == 0 ? "" : ",")
          .append("{\"UID\":\"u")
          .append(i)
          .append("\",\"message\":\"m\",\"action\":\"https://x.example\"}");
    }
    // Broken after the limit: the codec must stop before it gets there.
    b.append(",{{{");
    ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> decode(b.toString()));
    assertThat(e.code()).isEqualTo(ErrorCode.BATCH_TOO_LARGE);
    assertThat(e.detail()).isEqualTo("limit is 100");
  }

  @Test
  void decode_whenExactlyTheLimit_thenAllJudged() {
    List<Item> items = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      items.add(new Item("u" + i, "m", "https://x.example", null, false));
    }
    ByteBuf b = Unpooled.buffer();
    try {
      NotificationBatchCodec.encodeBatch(items, b);
      assertThat(CODEC.decode(b)).hasSize(100).allMatch(Judged::ok);
    } finally {
      b.release();
    }
  }

  @Test
  void decodeAck_whenGolden_thenResults() {
    ByteBuf b = Unpooled.copiedBuffer(fixture("notification-ack"), StandardCharsets.UTF_8);
    try {
      Ack ack = NotificationBatchCodec.decodeAck(b);
      assertThat(ack)
          .isEqualTo(
              new Ack(
                  "PARTIAL",
                  100,
                  List.of(
                      ItemResult.stored(
                          "Yq3kP0c2TnW8x1bLm9sRfA", 100, List.of("b7Qx-2Lr_0aZk4MnT8vWpE")),
                      new ItemResult(null, 0, List.of(), 151, "Unknown PUID"))));
      assertThat(ack.stored()).isEqualTo(1);
    } finally {
      b.release();
    }
  }

  @Test
  void ackOf_thenResultFollowsTheItems() {
    ItemResult ok = ItemResult.stored("a", 3, List.of());
    ItemResult ok2 = ItemResult.stored("b", 7, List.of());
    ItemResult ko = ItemResult.refused(ErrorCode.UNKNOWN_PUID, null);
    assertThat(Ack.of(List.of(ok, ok2)))
        .extracting(Ack::result, Ack::queueSize)
        .containsExactly("OK", 7);
    assertThat(Ack.of(List.of(ok, ko)))
        .extracting(Ack::result, Ack::queueSize)
        .containsExactly("PARTIAL", 3);
    assertThat(Ack.of(List.of(ko)))
        .extracting(Ack::result, Ack::queueSize)
        .containsExactly("KO", -1);
  }

  @Test
  void encodeAck_thenDecodeAck_roundTrips_andQueueSizeAbsentWhenNothingStored() {
    Ack partial =
        Ack.of(
            List.of(
                ItemResult.stored("a", 100, List.of("x", "y")),
                ItemResult.refused(ErrorCode.GRANT_PAUSED, null)));
    Ack none =
        Ack.of(List.of(ItemResult.refused(ErrorCode.INVALID_NOTIFICATION, "message: empty")));
    for (Ack ack : List.of(partial, none)) {
      ByteBuf b = Unpooled.buffer();
      try {
        NotificationBatchCodec.encodeAck(ack, b);
        String text = b.toString(StandardCharsets.UTF_8);
        assertThat(NotificationBatchCodec.decodeAck(b)).isEqualTo(ack);
        if (ack == none) {
          assertThat(text).doesNotContain("queue_size").startsWith("{\"result\":\"KO\"");
        } else {
          assertThat(text)
              .startsWith("{\"result\":\"PARTIAL\",\"queue_size\":100,\"results\":[")
              .contains(
                  "{\"result\":\"KO\",\"errno\":152,\"reason\":\"Grant paused by the user\"}");
        }
      } finally {
        b.release();
      }
    }
  }

  private static ProtocolException refusedBytes(byte[] body) {
    ByteBuf b = Unpooled.wrappedBuffer(body);
    try {
      ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> CODEC.decode(b));
      assertThat(b.readerIndex()).isZero();
      return e;
    } finally {
      b.release();
    }
  }

  private static byte[] withMessageBytes(String before, byte[] message, String after) {
    byte[] head = before.getBytes(StandardCharsets.UTF_8);
    byte[] tail = after.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[head.length + message.length + tail.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(message, 0, out, head.length, message.length);
    System.arraycopy(tail, 0, out, head.length + message.length, tail.length);
    return out;
  }

  /**
   * A message with an overlong '<' ("x" C0 BC "y"), which Jackson alone decodes to "x<y" and the
   * node stored: the whole batch is malformed JSON, like any broken body.
   */
  @Test
  void decode_whenMessageIsInvalidUtf8_thenWholeBatchMalformed() {
    String head = "[{\"UID\":\"" + PUID + "\",\"action\":\"https://x.example\",\"message\":\"";
    for (byte[] bad :
        new byte[][] {
          {'x', (byte) 0xC0, (byte) 0xBC, 'y'},
          {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},
          {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
          {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
          {(byte) 0xFF}
        }) {
      ProtocolException e = refusedBytes(withMessageBytes(head, bad, "\"}]"));
      assertThat(e).isNotNull();
      assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON);
      assertThat(e.detail()).startsWith("invalid UTF-8 at byte ");
    }
  }

  @Test
  void decode_whenInvalidUtf8PastTheLimit_thenMalformedAsTheBodyIsCheckedFirst() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < 150; i++) {
      b.append(i == 0 ? "" : ",")
          .append("{\"UID\":\"u")
          .append(i)
          .append("\",\"message\":\"m\",\"action\":\"https://x.example\"}");
    }
    b.append(",{\"message\":\"");
    ProtocolException e =
        refusedBytes(withMessageBytes(b.toString(), new byte[] {(byte) 0xC0, (byte) 0xAF}, "\"}]"));
    assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON);
  }
}
