package org.presence.protocol.json;

import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;

/**
 * JSON escapes that also write {@code < > & '} as {@code \u003C}, {@code \u003E}, {@code \u0026}
 * and {@code \u0027}. The decoded strings are unchanged; the bytes on the wire hold no markup
 * characters, so a text an application sent (a live notification's message, say) cannot close a
 * script element or start a tag if a careless client pastes the frame into a page. Set on a
 * generator with {@code setCharacterEscapes(HtmlSafeEscapes.INSTANCE)}.
 */
public final class HtmlSafeEscapes extends CharacterEscapes {
  /** The one instance; stateless. */
  public static final HtmlSafeEscapes INSTANCE = new HtmlSafeEscapes();

  private static final int[] ASCII = standardAsciiEscapesForJSON();

  static {
    ASCII['<'] = ESCAPE_STANDARD;
    ASCII['>'] = ESCAPE_STANDARD;
    ASCII['&'] = ESCAPE_STANDARD;
    ASCII['\''] = ESCAPE_STANDARD;
  }

  private HtmlSafeEscapes() {}

  @Override
  public int[] getEscapeCodesForAscii() {
    return ASCII;
  }

  @Override
  public SerializableString getEscapeSequence(int ch) {
    return null;
  }
}
