package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.presence.gateway.testing.BadUtf8;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class FormDecoderTest {
  private static Map<String, List<String>> decode(String body) {
    return FormDecoder.decode(body.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code before}, the bytes of {@code hex}, then {@code after}. */
  private static ErrorCode refusal(byte[] body) {
    try {
      FormDecoder.decode(body);
    } catch (ProtocolException e) {
      return e.code();
    }
    throw new AssertionError("accepted: " + new String(body, StandardCharsets.ISO_8859_1));
  }

  @Test
  void decode_whenWellFormed_thenEveryFieldInOrder() {
    assertThat(decode("a=1&b=x+y&c=%C3%A9t%C3%A9&d&e=&f=%2B%26%3D"))
        .containsExactly(
            Map.entry("a", List.of("1")),
            Map.entry("b", List.of("x y")),
            Map.entry("c", List.of("été")),
            Map.entry("d", List.of("")),
            Map.entry("e", List.of("")),
            Map.entry("f", List.of("+&=")));
    // Raw UTF-8 (curl -d sends it so) is read as such; a percent-escape continues raw bytes.
    assertThat(decode("name=Zoë&emoji=%F0%9F%98%80")).containsEntry("name", List.of("Zoë"));
    assertThat(FormDecoder.decode(BadUtf8.between("n=", "c3", "%A9")))
        .containsEntry("n", List.of("é"));
    assertThat(decode("")).isEmpty();
  }

  @Test
  void decode_whenEmptyFieldsOrNames_thenTheyAreSkipped() {
    assertThat(decode("&a=1&&=x&b=2&")).containsOnlyKeys("a", "b");
  }

  @Test
  void decode_whenASemicolon_thenItIsPartOfTheValue() {
    // Browsers never separate fields with ';': a field cannot hide another behind one.
    assertThat(decode("client_id=a;client_id=b"))
        .containsExactly(Map.entry("client_id", List.of("a;client_id=b")));
  }

  @Test
  void decode_whenANameIsGivenTwice_thenDuplicateField_evenWithTheSameValue() {
    for (String body :
        List.of(
            "client_id=a&client_id=b",
            "client_id=a&client_id=a",
            "client_id=a&client%5Fid=b",
            "a=1&client_id&client_id=")) {
      assertThatThrownBy(() -> decode(body))
          .as(body)
          .isInstanceOfSatisfying(
              ProtocolException.class,
              e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.DUPLICATE_FIELD);
                assertThat(e.detail()).isEqualTo("client_id");
              });
    }
    // A name that is not plain is not shown back (it may go into an OAuth error_description).
    assertThatThrownBy(() -> decode("%22%5C=1&%22%5C=2"))
        .isInstanceOfSatisfying(
            ProtocolException.class, e -> assertThat(e.detail()).isEqualTo("a field"));
  }

  @Test
  void decode_whenInvalidUtf8_thenBadRequest_percentEncodedOrRaw() {
    // The shared ill-formed sequences, and one cut short by the end of the field.
    for (String hex : Stream.concat(BadUtf8.SEQUENCES.stream(), Stream.of("e2 82")).toList()) {
      StringBuilder escaped = new StringBuilder();
      for (String b : hex.split(" ")) {
        escaped.append('%').append(b);
      }
      assertThat(refusal(("client_id=x" + escaped + "&b=1").getBytes(StandardCharsets.US_ASCII)))
          .as(hex)
          .isEqualTo(ErrorCode.BAD_REQUEST);
      assertThat(refusal(BadUtf8.between("client_id=x", hex, "&b=1")))
          .as(hex)
          .isEqualTo(ErrorCode.BAD_REQUEST);
      assertThat(refusal(BadUtf8.between("x", hex, "=1")))
          .as("in a name: " + hex)
          .isEqualTo(ErrorCode.BAD_REQUEST);
    }
    // A sequence is not completed across '&': each field is UTF-8 of its own.
    assertThat(refusal("a=%C3&b=%A9".getBytes(StandardCharsets.US_ASCII)))
        .isEqualTo(ErrorCode.BAD_REQUEST);
  }

  @Test
  void decode_whenABrokenPercentEscape_thenBadRequest() {
    for (String body : List.of("a=%zz", "a=%", "a=%4", "a=x%4&b=1", "%g1=x")) {
      assertThat(refusal(body.getBytes(StandardCharsets.US_ASCII)))
          .as(body)
          .isEqualTo(ErrorCode.BAD_REQUEST);
    }
  }

  @Test
  void decode_whenMoreThanMaxFields_thenBadRequest_noneDroppedUnread() {
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < FormDecoder.MAX_FIELDS; i++) {
      body.append("f").append(i).append("=1&");
    }
    assertThat(decode(body.toString())).hasSize(FormDecoder.MAX_FIELDS);
    assertThat(refusal((body + "one=more").getBytes(StandardCharsets.US_ASCII)))
        .isEqualTo(ErrorCode.BAD_REQUEST);
  }
}
