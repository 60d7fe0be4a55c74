package org.presence.gateway.http;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Utf8;

/**
 * A strict reader of {@code application/x-www-form-urlencoded} bodies, the one every form route
 * (the pages, the OAuth endpoints, the demo) reads through. The WHATWG URL standard's parser, made
 * strict where a lenient reading would let a client say two things at once:
 *
 * <ul>
 *   <li>fields are separated by {@code &} only ({@code ;} is an ordinary character, as browsers
 *       send it: {@code %3B} or as is); empty fields ({@code a=1&&b=2}) and fields with an empty
 *       name are skipped; {@code +} is a space; a field without {@code =} has the empty value;
 *   <li>a percent-escape that is not {@code %} and two hexadecimal digits is refused ({@code
 *       BAD_REQUEST}), never kept as text;
 *   <li>each name and value, once decoded, must be well-formed UTF-8 ({@link Utf8}: no overlong
 *       forms, surrogates or code points above U+10FFFF, whether percent-encoded or sent as raw
 *       bytes), else {@code BAD_REQUEST}, never decoded with replacement characters;
 *   <li>a name given twice is refused ({@code DUPLICATE_FIELD}): RFC 6749 §3.1 says an OAuth
 *       request's parameters MUST NOT be included more than once, and no page of this node sends a
 *       name twice (its forms' buttons of one name send only the one pressed);
 *   <li>at most {@link #MAX_FIELDS} fields ({@code BAD_REQUEST}), none dropped unread.
 * </ul>
 */
public final class FormDecoder {
  /** The most fields a form may have; no form of this node has a tenth of it. */
  public static final int MAX_FIELDS = 64;

  private FormDecoder() {}

  /**
   * The fields of {@code body}, in order, each with its one value (a list, as the pages read it).
   * Fails with a {@link ProtocolException} as the class comment says; its detail is ASCII without
   * quotes or backslashes, so it may go in an OAuth {@code error_description} (RFC 6749 §5.2).
   */
  public static Map<String, List<String>> decode(byte[] body) {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    int start = 0;
    while (start <= body.length) {
      int end = indexOf(body, (byte) '&', start, body.length);
      if (end > start) {
        int eq = indexOf(body, (byte) '=', start, end);
        String name = component(body, start, eq);
        String value = eq < end ? component(body, eq + 1, end) : "";
        if (!name.isEmpty()) {
          if (fields.containsKey(name)) {
            throw new ProtocolException(ErrorCode.DUPLICATE_FIELD, shown(name));
          }
          if (fields.size() == MAX_FIELDS) {
            throw new ProtocolException(
                ErrorCode.BAD_REQUEST, "the form has more than " + MAX_FIELDS + " fields");
          }
          fields.put(name, List.of(value));
        }
      }
      start = end + 1;
    }
    return fields;
  }

  /**
   * The first index of {@code b} in {@code bytes} from {@code from} before {@code to}, or {@code
   * to}.
   */
  private static int indexOf(byte[] bytes, byte b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return to;
  }

  /** One name or value: {@code +} and percent-escapes decoded, then strictly as UTF-8. */
  private static String component(byte[] body, int from, int to) {
    byte[] out = new byte[to - from];
    int n = unescape(body, from, to, out, true);
    if (n < 0) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "the form is not valid percent-encoding");
    }
    if (!Utf8.isValid(out, 0, n)) {
      throw new ProtocolException(ErrorCode.BAD_REQUEST, "the form is not valid UTF-8");
    }
    return new String(out, 0, n, StandardCharsets.UTF_8);
  }

  /**
   * Decodes the percent-escapes of {@code in[from, to)} into {@code out} (at least {@code to -
   * from} long), and {@code +} into a space when {@code plusIsSpace} (forms; not paths): the number
   * of bytes written, or -1 at an escape that is not {@code %} and two hexadecimal digits.
   */
  static int unescape(byte[] in, int from, int to, byte[] out, boolean plusIsSpace) {
    int n = 0;
    for (int i = from; i < to; i++) {
      byte b = in[i];
      if (b == '+' && plusIsSpace) {
        out[n++] = ' ';
      } else if (b == '%') {
        int hi = i + 2 < to ? Character.digit(in[i + 1], 16) : -1;
        int lo = hi >= 0 ? Character.digit(in[i + 2], 16) : -1;
        if (lo < 0) {
          return -1;
        }
        out[n++] = (byte) (hi << 4 | lo);
        i += 2;
      } else {
        out[n++] = b;
      }
    }
    return n;
  }

  /** A name as it may be shown back: the name when it is short and plain, else "a field". */
  private static String shown(String name) {
    return name.length() <= 40 && name.matches("[A-Za-z0-9_.-]+") ? name : "a field";
  }
}
