package org.presence.gateway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class AppFieldsTest {
  @ParameterizedTest
  @CsvSource({
    "chat.example.com, chat.example.com",
    "  Chat.Example.COM. , chat.example.com",
    "127.0.0.1:8080, 127.0.0.1:8080",
    "localhost:9000, localhost:9000",
    "xn--bcher-kva.example, xn--bcher-kva.example",
    // A full URL typed for the domain is understood as its host (and port).
    "http://chat.example.com, chat.example.com",
    "https://chat.example.com/, chat.example.com",
    " HTTPS://Chat.Example.com:8443/ , chat.example.com:8443"
  })
  void domain_whenValid_thenNormalised(String raw, String expected) {
    assertThat(AppFields.domain(raw)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "https://chat.example.com/path",
        "ftp://chat.example.com",
        "https://user@chat.example.com",
        "https://",
        "https://chat.example.com?x=1",
        "chat.example.com/path",
        "user@chat.example.com",
        "chat",
        "-chat.example.com",
        "chat_.example.com",
        "chat.example.com:0",
        "chat.example.com:65536",
        "999.1.1.1",
        "1.2.3",
        "[::1]",
        "chat..example.com",
        "<script>.example.com"
      })
  void domain_whenInvalid_thenInvalidAppField(String raw) {
    assertThatThrownBy(() -> AppFields.domain(raw))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_APP_FIELD));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"https://chat.example.com/app", "chat.example.com/app", "ftp://chat.example.com"})
  void domain_whenAUrlWithAPath_thenSaysToTypeTheDomainOnly_notBadPort(String raw) {
    assertThatThrownBy(() -> AppFields.domain(raw))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e ->
                assertThat(e.reason())
                    .contains("type only the domain, such as chat.example.com")
                    .contains("/__presence")
                    .doesNotContain("port"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"a\u0000b", "a\u202eb", "a\u200bb", "a\nb", "   "})
  void name_whenControlOrEmpty_thenRefused(String raw) {
    assertThatThrownBy(() -> AppFields.name(raw)).isInstanceOf(ProtocolException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"Evil\ud800", "\udc00Evil", "Ev\ud83dil", "Evil \udc68\ud83d"})
  void nameAndDescription_whenAnUnpairedSurrogate_thenInvalidAppFieldNamingIt(String raw) {
    assertThatThrownBy(() -> AppFields.name(raw))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_APP_FIELD);
              assertThat(e.reason()).contains("name: unpaired surrogate U+");
            });
    assertThatThrownBy(() -> AppFields.description("Line one\n" + raw))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.INVALID_APP_FIELD);
              assertThat(e.reason()).contains("description: unpaired surrogate U+");
            });
  }

  @ParameterizedTest
  @ValueSource(strings = {"a\u0000b", "a\u202eb", "a\u200bb", "a\u2028b", "a\rb"})
  void description_whenControlOrInvisible_thenInvalidAppField(String raw) {
    assertThatThrownBy(() -> AppFields.description(raw))
        .isInstanceOfSatisfying(
            ProtocolException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_APP_FIELD));
  }

  @Test
  void description_keepsLineBreaksTabsAndEmoji() {
    assertThat(AppFields.description(" Chat about beer\r\n\tand \ud83c\udf7a\n "))
        .isEqualTo("Chat about beer\n\tand \ud83c\udf7a");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Beer Chat",
        "Ünïcödé 名前",
        "a",
        // Persian "we want", spelled with a zero-width non-joiner; an emoji family (joiners).
        "می\u200cخواهیم",
        "Family \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67"
      })
  void name_whenOrdinaryText_thenKept(String raw) {
    assertThat(AppFields.name(raw)).isEqualTo(raw);
  }
}
