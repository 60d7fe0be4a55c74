package org.presence.protocol.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The shared, thread-safe Jackson {@link JsonFactory}s of Presence, built once with read limits.
 *
 * <p>Every parser caps nesting depth, string and number length, and the document's size, so that
 * hostile input costs a bounded amount of work before it is refused; every parser of client input
 * rejects duplicate fields ({@link #internal()}, for what nodes wrote for each other, does not).
 * Codecs read and write {@link ByteBuf}s through these factories, with no intermediate {@code
 * String}.
 */
public final class Json {
  /** Default document size limit for a WebSocket frame: 8 KiB. */
  public static final int DEFAULT_FRAME_LIMIT = 8 * 1024;

  /** Nesting depth allowed in any document; protocol messages use three levels at most. */
  public static final int MAX_DEPTH = 16;

  /** Longest string value accepted; everything in the protocol is far shorter. */
  public static final int MAX_STRING_LENGTH = 64 * 1024;

  /** Longest number literal: no value in the protocol needs more than 19 digits. */
  public static final int MAX_NUMBER_LENGTH = 24;

  private static final JsonFactory FRAMES = build(DEFAULT_FRAME_LIMIT);
  private static final JsonFactory DOCUMENTS = build(4 * 1024 * 1024);
  private static final JsonFactory INTERNAL = internal(build(4 * 1024 * 1024, false));
  private static final JsonFactory WRITER = internal(FRAMES);

  private Json() {}

  /** The factory for WebSocket frames (document limit {@link #DEFAULT_FRAME_LIMIT}). */
  public static JsonFactory frames() {
    return FRAMES;
  }

  /** The factory for HTTP bodies: the HTTP layer caps the body; this caps depth and strings. */
  public static JsonFactory documents() {
    return DOCUMENTS;
  }

  /**
   * The factory for what the project's own nodes wrote for each other: values they keep in Redis
   * and messages they publish there (wake-ups, queued notifications, update batches, node
   * commands). Limits as {@link #documents()}'s; no check for a repeated field, on reading or
   * writing: no client wrote these bytes, and Jackson's check keeps a set of every object's field
   * names, which was about a tenth of a node's CPU when it read wake-ups at saturation
   * (BENCHMARKS.md). Client input never goes through this factory.
   */
  public static JsonFactory internal() {
    return INTERNAL;
  }

  private static JsonFactory internal(JsonFactory f) {
    return f.rebuild().disable(StreamWriteFeature.STRICT_DUPLICATE_DETECTION).build();
  }

  /** A factory whose documents may be at most {@code maxDocumentBytes} long. */
  public static JsonFactory build(long maxDocumentBytes) {
    return build(maxDocumentBytes, true);
  }

  /**
   * A factory whose documents may be at most {@code maxDocumentBytes} long; with {@code
   * detectDuplicates} false its parsers leave duplicate fields to the caller. Codecs on hot paths
   * use that and check the fields they know with a bit mask, which allocates nothing, where
   * Jackson's check allocates a set per object.
   */
  public static JsonFactory build(long maxDocumentBytes, boolean detectDuplicates) {
    return build(maxDocumentBytes, detectDuplicates, MAX_STRING_LENGTH, MAX_NUMBER_LENGTH);
  }

  /**
   * A factory as {@link #build(long, boolean)} makes, whose strings may be {@code maxStringLength}
   * characters long and numbers {@code maxNumberLength}. A codec that judges its values itself
   * raises them to its document limit, so that a string or number too long for its field is that
   * field's error rather than a broken document; such a codec must ask a long number only for its
   * {@linkplain JsonParser#getNumberType() type} (which does not convert it) before its value.
   */
  public static JsonFactory build(
      long maxDocumentBytes, boolean detectDuplicates, int maxStringLength, int maxNumberLength) {
    return JsonFactory.builder()
        .streamReadConstraints(
            StreamReadConstraints.builder()
                .maxDocumentLength(maxDocumentBytes)
                .maxNestingDepth(MAX_DEPTH)
                .maxStringLength(maxStringLength)
                .maxNumberLength(maxNumberLength)
                .maxNameLength(256)
                .build())
        .configure(StreamReadFeature.STRICT_DUPLICATE_DETECTION, detectDuplicates)
        .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
        .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
        .enable(StreamWriteFeature.STRICT_DUPLICATE_DETECTION)
        .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
        .build();
  }

  /**
   * A parser over the readable bytes of {@code buf}; the caller keeps ownership of the buffer. The
   * bytes are checked to be well-formed UTF-8 first ({@link Utf8}), because Jackson decodes
   * overlong forms, encoded surrogates and code points above U+10FFFF without complaint: every
   * client body and frame read through here is refused with {@link ErrorCode#MALFORMED_JSON} when
   * they are not.
   *
   * @throws ProtocolException {@link ErrorCode#MALFORMED_JSON} for invalid UTF-8
   */
  public static JsonParser parser(JsonFactory factory, ByteBuf buf) throws IOException {
    Utf8.check(buf);
    return factory.createParser((InputStream) new ByteBufInputStream(buf, false));
  }

  /**
   * The answer to a parser's failure on a client's bytes, with a reason in plain words that names
   * no parser class or feature (the failure stays the cause, for logs), so that every codec and
   * route answers the same failure the same way:
   *
   * <ul>
   *   <li>a field twice ({@code STRICT_DUPLICATE_DETECTION}): {@link ErrorCode#DUPLICATE_FIELD}
   *       with the field's name;
   *   <li>a number that fits no {@code long} where one was read: {@link ErrorCode#WRONG_FIELD_TYPE}
   *       with the field's name (codecs that know the field check the number's type first and
   *       answer the field's own range error);
   *   <li>a read limit passed: {@link ErrorCode#MALFORMED_JSON}, "nested deeper than 16", "number
   *       too long", "string too long", "field name too long" or "document too long";
   *   <li>anything else: {@link ErrorCode#MALFORMED_JSON}, "not JSON: " what was wrong and where,
   *       e.g. "not JSON: unexpected character at byte 0".
   * </ul>
   */
  public static ProtocolException refusal(IOException e) {
    if (!(e instanceof JsonProcessingException j)) {
      return new ProtocolException(ErrorCode.MALFORMED_JSON, "not JSON", e);
    }
    String m = j.getOriginalMessage() == null ? "" : j.getOriginalMessage();
    if (e instanceof StreamConstraintsException) {
      return new ProtocolException(ErrorCode.MALFORMED_JSON, limit(m), e);
    }
    if (e instanceof InputCoercionException c) {
      JsonParser p = c.getProcessor();
      String name = p == null ? null : p.getParsingContext().getCurrentName();
      String what = "number out of range";
      return new ProtocolException(
          ErrorCode.WRONG_FIELD_TYPE, name == null ? what : name + ": " + what, e);
    }
    if (m.startsWith(DUPLICATE) && m.endsWith("'")) {
      return new ProtocolException(
          ErrorCode.DUPLICATE_FIELD, m.substring(DUPLICATE.length(), m.length() - 1), e);
    }
    return new ProtocolException(
        ErrorCode.MALFORMED_JSON, "not JSON: " + syntax(m) + at(j.getLocation()), e);
  }

  /** How Jackson's duplicate check starts its message; the field's name follows in quotes. */
  private static final String DUPLICATE = "Duplicate field '";

  private static String limit(String m) {
    if (m.startsWith("Document nesting depth")) {
      return "nested deeper than " + MAX_DEPTH;
    } else if (m.startsWith("Number value length")) {
      return "number too long";
    } else if (m.startsWith("String value length")) {
      return "string too long";
    } else if (m.startsWith("Name length")) {
      return "field name too long";
    } else if (m.startsWith("Document length")) {
      return "document too long";
    }
    return "over a size limit";
  }

  private static String syntax(String m) {
    if (m.startsWith("Unexpected end-of-input")) {
      return "unexpected end";
    } else if (m.startsWith("Unexpected close marker")) {
      return "unexpected closing bracket";
    } else if (m.startsWith("Illegal unquoted character")) {
      return "control character in a string";
    } else if (m.startsWith("Unrecognized character escape")) {
      return "invalid escape";
    } else if (m.startsWith("Non-standard token")
        || m.startsWith("Invalid numeric value")
        || m.startsWith("Malformed numeric value")
        || m.contains("valid numeric value")
        || m.contains("for valid number")) {
      return "invalid number";
    } else if (m.startsWith("Unrecognized token")) {
      return "unknown word";
    } else if (m.startsWith("Unexpected character") || m.startsWith("Illegal character")) {
      return "unexpected character";
    }
    return "syntax error";
  }

  private static String at(JsonLocation where) {
    if (where == null) {
      return "";
    }
    if (where.getByteOffset() >= 0) {
      return " at byte " + where.getByteOffset();
    }
    return where.getCharOffset() >= 0 ? " at character " + where.getCharOffset() : "";
  }

  /**
   * A generator appending UTF-8 JSON to {@code buf}; closing it does not release the buffer. Its
   * callers write the project's own field names, each once: it does not check them for repeats.
   */
  public static JsonGenerator generator(ByteBuf buf) throws IOException {
    return WRITER.createGenerator((OutputStream) new ByteBufOutputStream(buf));
  }
}
