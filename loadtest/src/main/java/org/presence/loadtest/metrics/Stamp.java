package org.presence.loadtest.metrics;

import io.netty.buffer.ByteBuf;
import java.util.function.LongConsumer;

/**
 * The send timestamp a load client embeds in a payload (a status message, a notification text), so
 * that whoever receives it on another connection can measure the latency across connections. The
 * form is {@code lt:<epoch micros>}: plain ASCII that survives any JSON text field, found in a
 * received frame by a byte scan without decoding it. A frame that batches several items (an app
 * update list) carries several stamps.
 */
public final class Stamp {
  /** The marker before the digits. */
  public static final String PREFIX = "lt:";

  private static final int MAX_DIGITS = 18;

  private Stamp() {}

  /** A stamp for now. */
  public static String now() {
    return of(Clock.micros());
  }

  /** A stamp for {@code micros}. */
  public static String of(long micros) {
    return PREFIX + micros;
  }

  /**
   * Calls {@code each} with every stamp's micros found in the readable bytes, without consuming
   * them.
   */
  public static int forEach(ByteBuf buf, LongConsumer each) {
    int found = 0;
    int end = buf.writerIndex();
    int i = buf.readerIndex();
    while (i + 3 < end) {
      if (buf.getByte(i) == 'l' && buf.getByte(i + 1) == 't' && buf.getByte(i + 2) == ':') {
        int j = i + 3;
        long value = 0;
        int digits = 0;
        while (j < end && digits < MAX_DIGITS) {
          byte b = buf.getByte(j);
          if (b < '0' || b > '9') {
            break;
          }
          value = value * 10 + (b - '0');
          digits++;
          j++;
        }
        if (digits > 0) {
          each.accept(value);
          found++;
        }
        i = j;
      } else {
        i++;
      }
    }
    return found;
  }

  /** As {@link #forEach(ByteBuf, LongConsumer)}, over a string. */
  public static int forEach(CharSequence text, LongConsumer each) {
    int found = 0;
    int end = text.length();
    int i = 0;
    while (i + 3 < end) {
      if (text.charAt(i) == 'l' && text.charAt(i + 1) == 't' && text.charAt(i + 2) == ':') {
        int j = i + 3;
        long value = 0;
        int digits = 0;
        while (j < end && digits < MAX_DIGITS && Character.isDigit(text.charAt(j))) {
          value = value * 10 + (text.charAt(j) - '0');
          digits++;
          j++;
        }
        if (digits > 0) {
          each.accept(value);
          found++;
        }
        i = j;
      } else {
        i++;
      }
    }
    return found;
  }
}
