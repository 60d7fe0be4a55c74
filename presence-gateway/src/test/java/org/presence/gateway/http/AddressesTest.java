package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.presence.gateway.testing.BadUtf8;

class AddressesTest {
  /** A target as the HTTP codec reads it: one char per byte. */
  private static String asRead(byte[] bytes) {
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  @Test
  void plainAddresses_andWellFormedUtf8_rawOrEscaped_areUtf8() {
    assertThat(Addresses.decodesToUtf8("/api/settings?x=1+2")).isTrue();
    assertThat(Addresses.decodesToUtf8("/%C3%A9t%C3%A9?q=%E2%82%AC")).isTrue();
    assertThat(Addresses.decodesToUtf8(asRead("/\u00e9t\u00e9".getBytes(StandardCharsets.UTF_8))))
        .isTrue();
    // A bad escape is the query decoder's to refuse, not this check's.
    assertThat(Addresses.decodesToUtf8("/x?%zz")).isTrue();
  }

  @Test
  void illFormedUtf8_rawOrEscaped_isNot() {
    for (String hex : BadUtf8.SEQUENCES) {
      assertThat(Addresses.decodesToUtf8(asRead(BadUtf8.between("/a?q=", hex, "b"))))
          .as(hex)
          .isFalse();
      StringBuilder escaped = new StringBuilder("/a/");
      for (String b : hex.split(" ")) {
        escaped.append('%').append(b.toUpperCase(Locale.ROOT));
      }
      assertThat(Addresses.decodesToUtf8(escaped.toString())).as(hex).isFalse();
    }
    assertThat(Addresses.decodesToUtf8("/\u0100")).isFalse();
  }

  @Test
  void nonAsciiBytes_areReadAsUtf8() {
    String raw = asRead("/\u00e9t\u00e9?q=\u20ac".getBytes(StandardCharsets.UTF_8));
    assertThat(Addresses.nonAsciiAsUtf8(raw)).isEqualTo("/\u00e9t\u00e9?q=\u20ac");
    String plain = "/api/settings";
    assertThat(Addresses.nonAsciiAsUtf8(plain)).isSameAs(plain);
  }
}
