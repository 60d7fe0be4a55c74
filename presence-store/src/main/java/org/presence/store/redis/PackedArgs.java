package org.presence.store.redis;

import java.util.Arrays;
import java.util.UUID;
import org.presence.protocol.model.ApplicationIds;

/**
 * Many script arguments as one: a MessagePack array written into one growing {@code byte[]}, which
 * a Lua script reads back with Redis's bundled {@code cmsgpack.unpack} into a table of the same
 * values in the same order. Every value is length-prefixed, so a string may hold any byte (PUIDs,
 * device ids and messages are user-controlled). One bulk string instead of thousands saves the
 * client an argument object, a RESP header and a {@code byte[]} per value, and Redis the parsing of
 * each; numbers and strings are written in place, with no {@code String} or {@code byte[]} per
 * value.
 *
 * <p>Only what the scripts need: one array whose length is set when it ends ({@link #end}), and
 * within it strings ({@link #string}, {@link #bytes}, {@link #decimal}: a number as its decimal
 * text, for 64-bit ids, which a Lua number (a double) cannot hold exactly) and non-negative
 * integers ({@link #integer}: Lua numbers, exact up to 2^53). Not thread-safe: one per call.
 */
public final class PackedArgs {
  private byte[] buf;
  private int len;
  private int count;

  /** An array of values, about {@code capacity} bytes. */
  public PackedArgs(int capacity) {
    buf = new byte[Math.max(16, capacity)];
    // array32 header; its count is written by end().
    buf[0] = (byte) 0xdd;
    len = 5;
  }

  private void ensure(int more) {
    if (len + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
  }

  private void put4(int at, long v) {
    buf[at] = (byte) (v >>> 24);
    buf[at + 1] = (byte) (v >>> 16);
    buf[at + 2] = (byte) (v >>> 8);
    buf[at + 3] = (byte) v;
  }

  /** A non-negative integer, read as a Lua number (exact below 2^53). */
  public PackedArgs integer(long v) {
    if (v < 0) {
      throw new IllegalArgumentException("negative: " + v);
    }
    ensure(9);
    if (v < 0x80) {
      buf[len++] = (byte) v;
    } else if (v <= 0xffffffffL) {
      buf[len] = (byte) 0xce;
      put4(len + 1, v);
      len += 5;
    } else {
      buf[len] = (byte) 0xcf;
      put4(len + 1, v >>> 32);
      put4(len + 5, v);
      len += 9;
    }
    count++;
    return this;
  }

  private void stringHeader(int n) {
    ensure(5 + n);
    if (n < 32) {
      buf[len++] = (byte) (0xa0 | n);
    } else if (n < 0x100) {
      buf[len++] = (byte) 0xd9;
      buf[len++] = (byte) n;
    } else if (n < 0x10000) {
      buf[len++] = (byte) 0xda;
      buf[len++] = (byte) (n >>> 8);
      buf[len++] = (byte) n;
    } else {
      buf[len] = (byte) 0xdb;
      put4(len + 1, n);
      len += 5;
    }
    count++;
  }

  /** The bytes of {@code b}, as a string. */
  public PackedArgs bytes(byte[] b) {
    stringHeader(b.length);
    System.arraycopy(b, 0, buf, len, b.length);
    len += b.length;
    return this;
  }

  /**
   * {@code s} in UTF-8, as {@link String#getBytes(java.nio.charset.Charset)} writes it (an unpaired
   * surrogate becomes {@code '?'}); {@code null} is the empty string.
   */
  public PackedArgs string(String s) {
    if (s == null) {
      stringHeader(0);
      return this;
    }
    int n = utf8Length(s);
    stringHeader(n);
    int p = len;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        buf[p++] = (byte) c;
      } else if (c < 0x800) {
        buf[p++] = (byte) (0xc0 | (c >> 6));
        buf[p++] = (byte) (0x80 | (c & 0x3f));
      } else if (Character.isSurrogate(c)) {
        int cp = pairAt(s, i);
        if (cp < 0) {
          buf[p++] = '?';
        } else {
          i++;
          buf[p++] = (byte) (0xf0 | (cp >> 18));
          buf[p++] = (byte) (0x80 | ((cp >> 12) & 0x3f));
          buf[p++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
          buf[p++] = (byte) (0x80 | (cp & 0x3f));
        }
      } else {
        buf[p++] = (byte) (0xe0 | (c >> 12));
        buf[p++] = (byte) (0x80 | ((c >> 6) & 0x3f));
        buf[p++] = (byte) (0x80 | (c & 0x3f));
      }
    }
    len = p;
    return this;
  }

  /** The code point of the surrogate pair at {@code i}, or -1 when it is not a pair's start. */
  private static int pairAt(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c) && i + 1 < s.length()) {
      char d = s.charAt(i + 1);
      if (Character.isLowSurrogate(d)) {
        return Character.toCodePoint(c, d);
      }
    }
    return -1;
  }

  private static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isSurrogate(c)) {
        if (pairAt(s, i) < 0) {
          n++;
        } else {
          n += 4;
          i++;
        }
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** {@code v}'s decimal text, as a string (for ids beyond a Lua number's exact range). */
  public PackedArgs decimal(long v) {
    if (v == Long.MIN_VALUE) {
      return string(Long.toString(v));
    }
    long x = Math.abs(v);
    int n = v < 0 ? digits(x) + 1 : digits(x);
    stringHeader(n);
    putDigits(x, len + n);
    if (v < 0) {
      buf[len] = '-';
    }
    len += n;
    return this;
  }

  private static int digits(long x) {
    int d = 1;
    for (; x >= 10; x /= 10) {
      d++;
    }
    return d;
  }

  /** Writes non-negative {@code x}'s digits ending just before {@code end}. */
  private void putDigits(long x, int end) {
    int p = end;
    do {
      buf[--p] = (byte) ('0' + (x % 10));
      x /= 10;
    } while (x != 0);
  }

  /** {@code ids} joined with commas, as {@link ApplicationIds#toCsv()} writes them. */
  public PackedArgs csv(ApplicationIds ids) {
    int n = Math.max(0, ids.size() - 1);
    for (int i = 0; i < ids.size(); i++) {
      n += digits(ids.get(i));
    }
    stringHeader(n);
    int p = len;
    for (int i = 0; i < ids.size(); i++) {
      if (i > 0) {
        buf[p++] = ',';
      }
      int d = digits(ids.get(i));
      putDigits(ids.get(i), p + d);
      p += d;
    }
    len = p;
    return this;
  }

  private static final byte[] HEX =
      "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** {@code id} as {@link UUID#toString()} writes it. */
  public PackedArgs uuid(UUID id) {
    stringHeader(36);
    long hi = id.getMostSignificantBits();
    long lo = id.getLeastSignificantBits();
    int p = len;
    for (int i = 0; i < 32; i++) {
      if (i == 8 || i == 12 || i == 16 || i == 20) {
        buf[p++] = '-';
      }
      long word = i < 16 ? hi : lo;
      int shift = 60 - 4 * (i & 15);
      buf[p++] = HEX[(int) ((word >>> shift) & 0xf)];
    }
    len = p;
    return this;
  }

  /** The values written so far. */
  public int count() {
    return count;
  }

  /** The array, its length set: the one script argument. */
  public byte[] end() {
    put4(1, count);
    return len == buf.length ? buf : Arrays.copyOf(buf, len);
  }
}
