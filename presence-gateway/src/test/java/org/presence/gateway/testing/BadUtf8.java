package org.presence.gateway.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/** Byte sequences that are not UTF-8, for the tests of every input that must be UTF-8. */
public final class BadUtf8 {
  private BadUtf8() {}

  /**
   * Ill-formed sequences in hex, each one a probe got through some reader: an overlong {@code <}
   * (Jackson and Aalto alone read {@code C0 BC} as {@code <}), an overlong {@code /}, an overlong
   * NUL, an encoded surrogate, a code point above U+10FFFF, a continuation byte that continues
   * nothing, a byte that starts nothing.
   */
  public static final List<String> SEQUENCES =
      List.of("c0 bc", "e0 80 af", "c0 80", "ed a0 80", "f4 90 80 80", "80", "ff");

  /** {@code before} and {@code after} in UTF-8 with the bytes {@code hex} between them. */
  public static byte[] between(String before, String hex, String after) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(before.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(HexFormat.of().parseHex(hex.replace(" ", "")));
    out.writeBytes(after.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }
}
