package org.presence.protocol.device;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Acknowledge;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.Dismiss;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.device.DeviceMessage.Notifications;
import org.presence.protocol.device.DeviceMessage.Refresh;
import org.presence.protocol.device.DeviceMessage.Refreshed;
import org.presence.protocol.device.DeviceMessage.RegisterPush;
import org.presence.protocol.device.DeviceMessage.Settings;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.HtmlSafeEscapes;
import org.presence.protocol.json.Json;
import org.presence.protocol.json.Utf8;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.protocol.model.ShownText;

/**
 * Reads and writes {@link DeviceMessage}s: pure functions over {@link ByteBuf}s, no I/O, no
 * logging. The gateway decodes device frames with {@link #decode} and encodes its answers with
 * {@link #encode}; the node's tests write their requests with {@link #encode}. Clients (the
 * library's {@code DeviceClient}, the load harness, the node's tests) read the node's frames
 * through presence-client's {@code DeviceFrames}.
 *
 * <p>{@link #decode} runs Jackson's streaming parser in an explicit token loop. Field order is free
 * (the {@code type} may come last, so fields are collected first and the message is built at the
 * end); unknown fields are skipped; {@code null} is the same as an absent field. Every problem
 * becomes a {@link ProtocolException} with its errno, in this order of precedence:
 *
 * <ol>
 *   <li>{@link ErrorCode#FRAME_TOO_LARGE}: more bytes than the frame limit;
 *   <li>{@link ErrorCode#INVALID_UTF8}: bytes that are not well-formed UTF-8, which {@link Utf8}
 *       finds before the frame is parsed (the session ends, close 1007: RFC 6455 §8.1);
 *   <li>{@link ErrorCode#MALFORMED_JSON}: not one well-formed JSON object (also nesting deeper than
 *       {@link Json#MAX_DEPTH}, over-long numbers or trailing content);
 *   <li>{@link ErrorCode#DUPLICATE_FIELD}: a known field twice, or an unknown one twice at the top
 *       level;
 *   <li>the {@code type}: {@link ErrorCode#MISSING_FIELD}, {@link ErrorCode#WRONG_FIELD_TYPE} or
 *       {@link ErrorCode#UNKNOWN_TYPE};
 *   <li>the first bad field of the message, in document order: {@link ErrorCode#WRONG_FIELD_TYPE},
 *       {@link ErrorCode#INVALID_STATUS}, {@link ErrorCode#MESSAGE_TOO_LONG}, {@link
 *       ErrorCode#TOO_MANY_APPLICATION_IDS}, {@link ErrorCode#INVALID_APPLICATION_ID}, {@link
 *       ErrorCode#UNKNOWN_SESSION} (a {@code session_id} that is no UUID) or {@link
 *       ErrorCode#INVALID_FIELD_VALUE} (also a {@code message} with a character {@link ShownText}
 *       refuses, an {@code ids} list that is empty, longer than {@link
 *       DeviceMessage#MAX_NOTIFICATION_IDS} or holds a malformed id);
 *   <li>{@link ErrorCode#MISSING_FIELD}: a required field of the message is absent.
 * </ol>
 *
 * Known fields that do not belong to the message's type are ignored like unknown ones.
 *
 * <h2>Allocation</h2>
 *
 * Each thread keeps one Jackson non-blocking parser and feeds it frame after frame, as a stream of
 * top-level objects, so decoding a well-formed frame allocates the decoded value and one {@code
 * JsonLocation} (to check that nothing follows the object), nothing else: the frame is copied into
 * a per-thread array, field names come from the parser's symbol table, enum values and the session
 * id are read from its character buffer. After a frame that failed, or that named fields the codec
 * does not know (which would grow the symbol table), the thread's parser is dropped and the next
 * frame gets a new one, so no state crosses from a bad frame to the next.
 */
public final class DeviceCodec {
  /**
   * What a frame may hold.
   *
   * @param maxFrameBytes longest frame in bytes
   * @param maxApplicationIds most ids in one {@code application_ids}
   * @param maxMessageLength longest custom status message, in Unicode code points
   */
  public record Limits(int maxFrameBytes, int maxApplicationIds, int maxMessageLength) {
    public Limits {
      if (maxFrameBytes < 64 || maxApplicationIds < 0 || maxMessageLength < 0) {
        throw new IllegalArgumentException("invalid limits");
      }
    }

    /** 8 KiB frames, 100 application ids, 140-character messages. */
    public static Limits defaults() {
      return new Limits(Json.DEFAULT_FRAME_LIMIT, 100, 140);
    }
  }

  // Field slots: bit positions in the seen and error masks.
  private static final int F_TYPE = 0;
  private static final int F_ASSERTION = 1;
  private static final int F_APPLICATION_IDS = 2;
  private static final int F_DEVICE = 3;
  private static final int F_SESSION_ID = 4;
  private static final int F_STATUS = 5;
  private static final int F_MESSAGE = 6;
  private static final int F_XPI = 7;
  private static final int F_IDS = 8;
  private static final int FIELD_COUNT = 9;
  private static final String[] FIELD_NAMES = {
    "type",
    "assertion",
    "application_ids",
    "device",
    "session_id",
    "status",
    "message",
    "xpi",
    "ids"
  };

  private static final int CONNECT_FIELDS =
      bit(F_TYPE) | bit(F_ASSERTION) | bit(F_APPLICATION_IDS) | bit(F_DEVICE);
  private static final int STATUS_FIELDS =
      bit(F_TYPE) | bit(F_SESSION_ID) | bit(F_STATUS) | bit(F_MESSAGE) | bit(F_APPLICATION_IDS);
  private static final int REGISTER_PUSH_FIELDS = bit(F_TYPE) | bit(F_SESSION_ID) | bit(F_XPI);
  private static final int ANSWER_FIELDS = bit(F_TYPE) | bit(F_SESSION_ID) | bit(F_IDS);
  private static final int REFRESH_FIELDS = bit(F_TYPE) | bit(F_ASSERTION);

  private static final byte[] ACK = "{\"result\":true}".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONNECTED_HEAD =
      "{\"result\":true,\"session_id\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONNECTED_TAIL = "\"}".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] EXPIRES_AT = "\",\"expires_at\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private final Limits limits;
  private final JsonFactory factory;
  private final FastThreadLocal<Scratch> scratch;

  /** A codec with {@code limits}; thread-safe, meant to be shared. */
  public DeviceCodec(Limits limits) {
    this.limits = limits;
    // The frame limit is checked here before parsing; the parser sees a stream of frames.
    this.factory = Json.build(-1, false);
    // Netty's thread local: an array slot on the event loops' threads, a map lookup elsewhere.
    this.scratch =
        new FastThreadLocal<>() {
          @Override
          protected Scratch initialValue() {
            return new Scratch(limits);
          }
        };
  }

  /** A codec with the default limits. */
  public DeviceCodec() {
    this(Limits.defaults());
  }

  public Limits limits() {
    return limits;
  }

  private static int bit(int field) {
    return 1 << field;
  }

  /**
   * Per-thread state: the frame copy, the id list, and the parser that reads one frame after the
   * other ({@code null} until needed, or after a frame that left it unusable).
   */
  private static final class Scratch {
    final byte[] bytes;
    final long[] ids;
    final String[] notificationIds = new String[DeviceMessage.MAX_NOTIFICATION_IDS];
    final Fields fields = new Fields();
    JsonParser parser;
    ByteArrayFeeder feeder;

    /** Bytes fed to {@link #parser} before the current frame. */
    long fed;

    /** Whether the current frame named fields the codec does not know. */
    boolean unknownFields;

    /** The first bad element of the array just read, for {@link #takeElementError}. */
    ProtocolException elementError;

    Scratch(Limits limits) {
      bytes = new byte[limits.maxFrameBytes()];
      ids = new long[Math.max(1, limits.maxApplicationIds())];
    }

    JsonParser parser(JsonFactory factory) throws IOException {
      if (parser == null) {
        parser = factory.createNonBlockingByteArrayParser();
        feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
        fed = 0;
      }
      return parser;
    }

    ProtocolException takeElementError() {
      ProtocolException error = elementError;
      elementError = null;
      return error;
    }

    void discard() {
      if (parser != null) {
        try {
          parser.close();
        } catch (IOException e) {
          // Nothing to release but buffers.
        }
        parser = null;
        feeder = null;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Decoding device frames (server side)

  /**
   * Decodes one device frame: the readable bytes of {@code frame}, which stays owned by the caller
   * and is not modified.
   *
   * @throws ProtocolException with the errno that answers the frame
   */
  public DeviceMessage decode(ByteBuf frame) {
    int length = frame.readableBytes();
    if (length > limits.maxFrameBytes()) {
      throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, "limit is " + limits.maxFrameBytes());
    }
    Scratch s = scratch.get();
    frame.getBytes(frame.readerIndex(), s.bytes, 0, length);
    return decode(length, s);
  }

  /** Decodes one device frame from {@code length} bytes of {@code bytes} at {@code offset}. */
  public DeviceMessage decode(byte[] bytes, int offset, int length) {
    if (length > limits.maxFrameBytes()) {
      throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, "limit is " + limits.maxFrameBytes());
    }
    Scratch s = scratch.get();
    System.arraycopy(bytes, offset, s.bytes, 0, length);
    return decode(length, s);
  }

  /** Decodes the first {@code length} bytes of the thread's scratch array. */
  private DeviceMessage decode(int length, Scratch s) {
    // Jackson would decode an overlong form or an encoded surrogate; the frame is checked first,
    // before the parser sees a byte of it, so the thread's parser stays usable for the next frame.
    // The device channel turns Netty's UTF-8 check off and relies on this one: text that is not
    // UTF-8 fails the connection (RFC 6455 §8.1), hence INVALID_UTF8 (close 1007), not the
    // MALFORMED_JSON of a JSON body over HTTP. All-ASCII bytes cost a mask per eight bytes.
    int bad = Utf8.invalidAt(s.bytes, 0, length);
    if (bad >= 0) {
      throw new ProtocolException(ErrorCode.INVALID_UTF8, "invalid UTF-8 at byte " + bad);
    }
    // JSON text carries no byte order mark (RFC 8259 §8.1); the parser, reused across frames,
    // would skip one at the start of its first frame and stumble on it in a later one.
    if (length >= 3
        && s.bytes[0] == (byte) 0xEF
        && s.bytes[1] == (byte) 0xBB
        && s.bytes[2] == (byte) 0xBF) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "not JSON: byte order mark at byte 0");
    }
    boolean reusable = false;
    try {
      JsonParser p = s.parser(factory);
      s.feeder.feedInput(s.bytes, 0, length);
      s.unknownFields = false;
      DeviceMessage m = read(p, s, length);
      reusable = !s.unknownFields;
      return m;
    } catch (ProtocolException e) {
      throw e;
    } catch (IOException e) {
      throw Json.refusal(e);
    } finally {
      if (reusable) {
        s.fed += length;
      } else {
        s.discard();
      }
    }
  }

  /** Reads one frame's object: its fields first, in any order, then the message they make. */
  private DeviceMessage read(JsonParser p, Scratch s, int length) throws IOException {
    startOfFrame(p, s, length);
    Fields f = s.fields.reset();
    JsonToken t;
    while ((t = next(p)) != JsonToken.END_OBJECT) {
      if (t != JsonToken.FIELD_NAME) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a field name");
      }
      String name = p.currentName();
      int field = field(name);
      JsonToken v = next(p);
      f.position++;
      if (field < 0) {
        s.unknownFields = true;
        f.unknown(name);
        p.skipChildren();
      } else if (f.repeated(field)) {
        p.skipChildren();
      } else if (v != JsonToken.VALUE_NULL) { // null is an absent field.
        f.present |= bit(field);
        ProtocolException error = value(p, s, f, field, v);
        if (error != null) {
          f.error(field, error);
          if (v == JsonToken.START_OBJECT
              || (v == JsonToken.START_ARRAY && field != F_APPLICATION_IDS && field != F_IDS)) {
            p.skipChildren();
          }
        }
      }
    }
    endOfFrame(p, s, length);
    if (f.duplicateName != null) {
      throw new ProtocolException(ErrorCode.DUPLICATE_FIELD, f.duplicateName);
    }
    checkFields(f.type, f.typeUnknown, f.present, f.errors);
    return message(f);
  }

  /**
   * Reads the value of known field {@code field}, which starts with token {@code v} (not {@code
   * null}), into {@code f}; the error that refuses it, or {@code null}. An array field's elements
   * are read here; any other value that is no string is left to the caller to skip.
   */
  private ProtocolException value(JsonParser p, Scratch s, Fields f, int field, JsonToken v)
      throws IOException {
    boolean array = field == F_APPLICATION_IDS || field == F_IDS;
    if (v != (array ? JsonToken.START_ARRAY : JsonToken.VALUE_STRING)) {
      return wrongType(field);
    }
    ProtocolException error = null;
    switch (field) {
      case F_TYPE -> {
        f.type =
            DeviceMessageType.fromChars(
                p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
        f.typeUnknown = f.type == null;
      }
      case F_ASSERTION -> f.assertion = p.getText();
      case F_APPLICATION_IDS -> {
        f.applicationIds = applicationIds(p, s);
        error = s.takeElementError();
      }
      case F_DEVICE -> {
        error = notAnIdentifier(p, DeviceMessage.MAX_DEVICE_ID_LENGTH, "device: 1-64");
        f.device = error == null ? p.getText() : null;
      }
      case F_SESSION_ID -> {
        f.sessionId = Chars.uuid(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
        if (f.sessionId == null) {
          error = new ProtocolException(ErrorCode.UNKNOWN_SESSION, "not a session id");
        }
      }
      case F_STATUS -> {
        f.status = Chars.status(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
        if (f.status == null) {
          error =
              new ProtocolException(
                  ErrorCode.INVALID_STATUS, "one of online, away, unavailable, offline");
        }
      }
      case F_MESSAGE -> error = message(p, f);
      case F_XPI -> {
        error = notAnIdentifier(p, DeviceMessage.MAX_PRESENCE_ID_LENGTH, "xpi: 1-128");
        f.xpi = error == null ? p.getText() : null;
      }
      case F_IDS -> {
        f.notificationIds = notificationIds(p, s);
        error = s.takeElementError();
      }
      default -> throw new IllegalStateException("field " + field);
    }
    return error;
  }

  /**
   * Reads a {@code message} string within the length limit and {@link ShownText}'s character rule;
   * an empty one is no message.
   */
  private ProtocolException message(JsonParser p, Fields f) throws IOException {
    int len = p.getTextLength();
    // A UTF-16 length within the limit is within it in code points too; only longer strings need
    // counting.
    if (len > limits.maxMessageLength()
        && Character.codePointCount(p.getTextCharacters(), p.getTextOffset(), len)
            > limits.maxMessageLength()) {
      return new ProtocolException(
          ErrorCode.MESSAGE_TOO_LONG, "limit is " + limits.maxMessageLength());
    }
    if (len > 0) {
      String problem = ShownText.problem(p.getTextCharacters(), p.getTextOffset(), len);
      if (problem != null) {
        return new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, "message: " + problem);
      }
      f.message = p.getText();
    }
    return null;
  }

  /** The message of a frame whose type and fields were checked: its required fields present. */
  private static DeviceMessage message(Fields f) {
    int present = f.present;
    return switch (f.type) {
      case CONNECT -> {
        require(present, F_ASSERTION);
        yield new Connect(f.assertion, f.applicationIds, f.device);
      }
      case STATUS -> {
        require(present, F_SESSION_ID);
        require(present, F_STATUS);
        yield new StatusUpdate(f.sessionId, f.status, f.message, f.applicationIds);
      }
      case REGISTER_PUSH -> {
        require(present, F_SESSION_ID);
        require(present, F_XPI);
        yield new RegisterPush(f.sessionId, f.xpi);
      }
      case ACKNOWLEDGE -> {
        require(present, F_SESSION_ID);
        require(present, F_IDS);
        yield new Acknowledge(f.sessionId, f.notificationIds);
      }
      case DISMISS -> {
        require(present, F_SESSION_ID);
        require(present, F_IDS);
        yield new Dismiss(f.sessionId, f.notificationIds);
      }
      case REFRESH -> {
        require(present, F_ASSERTION);
        yield new Refresh(f.assertion);
      }
    };
  }

  /** Reads the token that opens the frame's object, and refuses a frame that is no object. */
  private static void startOfFrame(JsonParser p, Scratch s, int length) throws IOException {
    JsonToken first = p.nextToken();
    if (first == null || first == JsonToken.NOT_AVAILABLE) {
      // A top-level scalar is not complete until something follows it: either way, no object.
      for (int i = 0; i < length; i++) {
        byte b = s.bytes[i];
        if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
          throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
        }
      }
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "empty frame");
    }
    if (first != JsonToken.START_OBJECT) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
    }
  }

  /**
   * Reads the elements of an {@code applicationIds} array (its start already read) up to its end;
   * {@code null} after a bad element, which {@link Scratch#takeElementError} then answers.
   */
  private ApplicationIds applicationIds(JsonParser p, Scratch s) throws IOException {
    long[] ids = s.ids;
    int count = 0;
    ProtocolException error = null;
    JsonToken e;
    while ((e = next(p)) != JsonToken.END_ARRAY) {
      if (error != null) {
        p.skipChildren();
        continue;
      }
      if (e == JsonToken.VALUE_NUMBER_INT) {
        JsonParser.NumberType nt = p.getNumberType();
        long id = nt == JsonParser.NumberType.BIG_INTEGER ? -1 : p.getLongValue();
        if (id <= 0) {
          error =
              new ProtocolException(ErrorCode.INVALID_APPLICATION_ID, "must be a positive integer");
        } else if (count == limits.maxApplicationIds()) {
          error =
              new ProtocolException(
                  ErrorCode.TOO_MANY_APPLICATION_IDS, "limit is " + limits.maxApplicationIds());
        } else {
          ids[count++] = id;
        }
      } else if (e == JsonToken.VALUE_NUMBER_FLOAT) {
        error =
            new ProtocolException(ErrorCode.INVALID_APPLICATION_ID, "must be a positive integer");
      } else {
        error = wrongType(F_APPLICATION_IDS);
        p.skipChildren();
      }
    }
    if (error != null) {
      s.elementError = error;
      return null;
    }
    return ApplicationIds.of(ids, count);
  }

  /**
   * Reads the elements of an {@code ids} array (its start already read) up to its end; {@code null}
   * after a bad element or for an empty array, which {@link Scratch#takeElementError} then answers.
   */
  private static List<String> notificationIds(JsonParser p, Scratch s) throws IOException {
    String[] found = s.notificationIds;
    int count = 0;
    ProtocolException error = null;
    JsonToken e;
    while ((e = next(p)) != JsonToken.END_ARRAY) {
      if (error != null) {
        p.skipChildren();
        continue;
      }
      if (e != JsonToken.VALUE_STRING) {
        error = wrongType(F_IDS);
        p.skipChildren();
      } else if (count == DeviceMessage.MAX_NOTIFICATION_IDS
          || !Chars.identifier(
              p.getTextCharacters(),
              p.getTextOffset(),
              p.getTextLength(),
              DeviceMessage.MAX_NOTIFICATION_ID_LENGTH)) {
        error = invalidIds();
      } else {
        found[count++] = p.getText();
      }
    }
    if (error == null && count == 0) {
      error = invalidIds();
    }
    List<String> ids = error == null ? List.of(Arrays.copyOf(found, count)) : null;
    Arrays.fill(found, 0, count, null);
    s.elementError = error;
    return ids;
  }

  /**
   * Refuses a frame without a known type, or with a bad value in a field of its type, in that order
   * of precedence (a duplicate field comes before both).
   */
  private static void checkFields(
      DeviceMessageType type, boolean typeUnknown, int present, FieldErrors errors) {
    if (errors != null && errors.has(F_TYPE)) {
      throw errors.get(F_TYPE);
    }
    if ((present & bit(F_TYPE)) == 0) {
      throw new ProtocolException(ErrorCode.MISSING_FIELD, "type");
    }
    if (typeUnknown) {
      throw new ProtocolException(ErrorCode.UNKNOWN_TYPE);
    }
    int relevant =
        switch (type) {
          case CONNECT -> CONNECT_FIELDS;
          case STATUS -> STATUS_FIELDS;
          case REGISTER_PUSH -> REGISTER_PUSH_FIELDS;
          case ACKNOWLEDGE, DISMISS -> ANSWER_FIELDS;
          case REFRESH -> REFRESH_FIELDS;
        };
    if (errors != null) {
      ProtocolException fieldError = errors.first(relevant);
      if (fieldError != null) {
        throw fieldError;
      }
    }
  }

  /** The next token; a frame that ends before its object does is truncated. */
  private static JsonToken next(JsonParser p) throws IOException {
    JsonToken t = p.nextToken();
    if (t == JsonToken.NOT_AVAILABLE || t == null) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "truncated frame");
    }
    return t;
  }

  /**
   * Checks that only whitespace follows the object and lets the parser consume it, so that it
   * stands between two top-level values, ready for the next frame.
   */
  private static void endOfFrame(JsonParser p, Scratch s, int length) throws IOException {
    long consumed = p.currentLocation().getByteOffset() - s.fed;
    if (consumed < 0 || consumed > length) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing content after the object");
    }
    for (int i = (int) consumed; i < length; i++) {
      byte b = s.bytes[i];
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing content after the object");
      }
    }
    if (p.nextToken() != JsonToken.NOT_AVAILABLE) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing content after the object");
    }
  }

  private static void require(int present, int field) {
    if ((present & bit(field)) == 0) {
      throw new ProtocolException(ErrorCode.MISSING_FIELD, FIELD_NAMES[field]);
    }
  }

  private static ProtocolException invalidIds() {
    return new ProtocolException(
        ErrorCode.INVALID_FIELD_VALUE,
        "ids: 1-" + DeviceMessage.MAX_NOTIFICATION_IDS + " notification ids");
  }

  private static ProtocolException wrongType(int field) {
    return new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, FIELD_NAMES[field]);
  }

  /**
   * Null when the string at {@code p} is an identifier of at most {@code max} characters; else the
   * error that says so, starting with {@code what} ("device: 1-64").
   */
  private static ProtocolException notAnIdentifier(JsonParser p, int max, String what)
      throws IOException {
    return Chars.identifier(p.getTextCharacters(), p.getTextOffset(), p.getTextLength(), max)
        ? null
        : new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, what + " of A-Z a-z 0-9 . _ : -");
  }

  /**
   * The slot of a field name, or -1. Names come from the parser's symbol table; matching on the
   * length first and then {@link String#equals} never computes a hash.
   */
  private static int field(String name) {
    switch (name.length()) {
      case 3:
        if (name.equals("xpi")) {
          return F_XPI;
        }
        return name.equals("ids") ? F_IDS : -1;
      case 4:
        return name.equals("type") ? F_TYPE : -1;
      case 6:
        if (name.equals("status")) {
          return F_STATUS;
        }
        return name.equals("device") ? F_DEVICE : -1;
      case 7:
        return name.equals("message") ? F_MESSAGE : -1;
      case 9:
        return name.equals("assertion") ? F_ASSERTION : -1;
      case 10:
        return name.equals("session_id") ? F_SESSION_ID : -1;
      case 15:
        return name.equals("application_ids") ? F_APPLICATION_IDS : -1;
      default:
        return -1;
    }
  }

  /**
   * The fields of the frame being read, collected until the message is built: which were seen and
   * which present (bits by slot), their values, the first duplicate and the errors. One per thread
   * ({@link Scratch#fields}), reset for each frame, so a frame allocates none.
   */
  private static final class Fields {
    int seen;
    int present;

    /** The position of the field being read, in document order (1 for the first). */
    int position;

    /** The first field named twice, or {@code null}. */
    String duplicateName;

    FieldErrors errors;
    String[] unknownNames;
    int unknownCount;

    DeviceMessageType type;
    boolean typeUnknown;
    String assertion;
    ApplicationIds applicationIds;
    String device;
    UUID sessionId;
    PresenceStatus status;
    String message;
    String xpi;
    List<String> notificationIds;

    Fields reset() {
      seen = 0;
      present = 0;
      position = 0;
      duplicateName = null;
      errors = null;
      unknownNames = null;
      unknownCount = 0;
      type = null;
      typeUnknown = false;
      assertion = null;
      applicationIds = null;
      device = null;
      sessionId = null;
      status = null;
      message = null;
      xpi = null;
      notificationIds = null;
      return this;
    }

    /** Notes a field the codec does not know; the second of one name is a duplicate. */
    void unknown(String name) {
      if (duplicateName != null) {
        return;
      }
      if (unknownNames == null) {
        unknownNames = new String[4];
      }
      for (int i = 0; i < unknownCount; i++) {
        if (unknownNames[i].equals(name)) {
          duplicateName = name;
        }
      }
      if (unknownCount == unknownNames.length) {
        unknownNames = Arrays.copyOf(unknownNames, unknownCount * 2);
      }
      unknownNames[unknownCount++] = name;
    }

    /** Whether known field {@code field} came before in this frame (a duplicate, noted). */
    boolean repeated(int field) {
      if ((seen & bit(field)) != 0) {
        if (duplicateName == null) {
          duplicateName = FIELD_NAMES[field];
        }
        return true;
      }
      seen |= bit(field);
      return false;
    }

    void error(int field, ProtocolException e) {
      if (errors == null) {
        errors = new FieldErrors();
      }
      errors.add(field, position, e);
    }
  }

  /** The field errors of one frame, by slot, with their position; only made for bad frames. */
  private static final class FieldErrors {
    final ProtocolException[] errors = new ProtocolException[FIELD_COUNT];
    final int[] positions = new int[FIELD_COUNT];

    void add(int field, int position, ProtocolException e) {
      errors[field] = e;
      positions[field] = position;
    }

    boolean has(int field) {
      return errors[field] != null;
    }

    ProtocolException get(int field) {
      return errors[field];
    }

    /** The error that came first in the document among the fields in {@code mask}. */
    ProtocolException first(int mask) {
      ProtocolException best = null;
      int at = Integer.MAX_VALUE;
      for (int f = 0; f < FIELD_COUNT; f++) {
        if ((mask & bit(f)) != 0 && errors[f] != null && positions[f] < at) {
          best = errors[f];
          at = positions[f];
        }
      }
      return best;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Encoding

  /**
   * Appends the JSON of {@code message} to {@code out}. Answers are written straight as bytes
   * ({@link Ack} is a constant); requests go through a Jackson generator.
   */
  public static void encode(DeviceMessage message, ByteBuf out) {
    if (message instanceof Ack) {
      out.writeBytes(ACK);
    } else if (message instanceof Connected c) {
      out.writeBytes(CONNECTED_HEAD);
      writeUuid(c.sessionId(), out);
      if (c.expiresAt() > 0) {
        out.writeBytes(EXPIRES_AT);
        out.writeCharSequence(Long.toString(c.expiresAt()), StandardCharsets.US_ASCII);
        out.writeByte('}');
      } else {
        out.writeBytes(CONNECTED_TAIL);
      }
    } else {
      try (JsonGenerator g = Json.generator(out)) {
        write(message, g);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * Soft size of a pushed notifications frame: {@link #encodeNotifications} closes a frame once it
   * passes this, so no frame exceeds it by more than one item (at most about 7 KiB: 512-character
   * message and action, every character escaped).
   */
  public static final int NOTIFICATIONS_FRAME_BYTES = 32 * 1024;

  /**
   * Appends one {@code {"notifications": [...]}} frame to {@code out} with the items of {@code
   * items} from {@code from} on: at most {@code maxItems}, and none after the frame passed {@link
   * #NOTIFICATIONS_FRAME_BYTES}. Returns how many items it holds (at least one, when any is left).
   * Markup characters in texts are escaped ({@link HtmlSafeEscapes}).
   */
  public static int encodeNotifications(
      List<LiveNotification> items, int from, int maxItems, ByteBuf out) {
    int start = out.writerIndex();
    int count = 0;
    try (JsonGenerator g = Json.generator(out)) {
      g.setCharacterEscapes(HtmlSafeEscapes.INSTANCE);
      g.writeStartObject();
      g.writeArrayFieldStart("notifications");
      for (int i = from; i < items.size() && count < maxItems; i++) {
        writeNotification(g, items.get(i));
        count++;
        g.flush();
        if (out.writerIndex() - start >= NOTIFICATIONS_FRAME_BYTES) {
          break;
        }
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return count;
  }

  /** Appends the {@code {"result":true}} acknowledgement to {@code out}. */
  public static void encodeAck(ByteBuf out) {
    out.writeBytes(ACK);
  }

  /** Bytes of {@link #encode}d {@code message}, for tests and clients. */
  public static byte[] toBytes(DeviceMessage message) {
    ByteBuf buf = io.netty.buffer.Unpooled.buffer(128);
    try {
      encode(message, buf);
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      return bytes;
    } finally {
      buf.release();
    }
  }

  private static void write(DeviceMessage message, JsonGenerator g) throws IOException {
    g.writeStartObject();
    if (message instanceof Connect c) {
      g.writeStringField("type", DeviceMessageType.CONNECT.wireName());
      g.writeStringField("assertion", c.assertion());
      writeIds(c.applicationIds(), g);
      if (c.device() != null) {
        g.writeStringField("device", c.device());
      }
    } else if (message instanceof StatusUpdate u) {
      g.writeStringField("type", DeviceMessageType.STATUS.wireName());
      g.writeStringField("session_id", u.sessionId().toString());
      g.writeStringField("status", u.status().wireName());
      if (u.message() != null) {
        g.writeStringField("message", u.message());
      }
      writeIds(u.applicationIds(), g);
    } else if (message instanceof RegisterPush r) {
      g.writeStringField("type", DeviceMessageType.REGISTER_PUSH.wireName());
      g.writeStringField("session_id", r.sessionId().toString());
      g.writeStringField("xpi", r.presenceId());
    } else if (message instanceof Acknowledge a) {
      writeAnswer(g, DeviceMessageType.ACKNOWLEDGE, a.sessionId(), a.ids());
    } else if (message instanceof Dismiss d) {
      writeAnswer(g, DeviceMessageType.DISMISS, d.sessionId(), d.ids());
    } else if (message instanceof Refresh r) {
      g.writeStringField("type", DeviceMessageType.REFRESH.wireName());
      g.writeStringField("assertion", r.assertion());
    } else if (message instanceof Refreshed r) {
      g.writeBooleanField("result", true);
      g.writeNumberField("expires_at", r.expiresAt());
    } else if (message instanceof Notifications n) {
      g.setCharacterEscapes(HtmlSafeEscapes.INSTANCE);
      g.writeArrayFieldStart("notifications");
      for (LiveNotification item : n.notifications()) {
        writeNotification(g, item);
      }
      g.writeEndArray();
    } else if (message instanceof Settings s) {
      g.setCharacterEscapes(HtmlSafeEscapes.INSTANCE);
      g.writeObjectFieldStart("settings");
      g.writeNumberField("online_within_minutes", s.onlineWithinMinutes());
      g.writeNumberField("away_after_minutes", s.awayAfterMinutes());
      g.writeNumberField("offline_after_minutes", s.offlineAfterMinutes());
      g.writeStringField("custom_status", s.customStatus());
      g.writeStringField("away_message", s.awayMessage());
      g.writeEndObject();
    } else if (message instanceof ErrorReply e) {
      g.writeBooleanField("result", false);
      g.writeNumberField("errno", e.errno());
      g.writeStringField("reason", e.reason());
    } else if (message instanceof Connected c) {
      g.writeBooleanField("result", true);
      g.writeStringField("session_id", c.sessionId().toString());
      if (c.expiresAt() > 0) {
        g.writeNumberField("expires_at", c.expiresAt());
      }
    } else {
      g.writeBooleanField("result", true);
    }
    g.writeEndObject();
  }

  private static void writeAnswer(
      JsonGenerator g, DeviceMessageType type, UUID sessionId, List<String> ids)
      throws IOException {
    g.writeStringField("type", type.wireName());
    g.writeStringField("session_id", sessionId.toString());
    g.writeArrayFieldStart("ids");
    for (String id : ids) {
      g.writeString(id);
    }
    g.writeEndArray();
  }

  /**
   * Writes one pushed notification as an object of the {@code notifications} list. Its texts are
   * JSON strings, escaped by the generator: markup or quotes in a message stay data.
   */
  public static void writeNotification(JsonGenerator g, LiveNotification n) throws IOException {
    g.writeStartObject();
    g.writeStringField("id", n.id());
    g.writeNumberField("appid", n.appId());
    g.writeStringField("source", n.source());
    g.writeStringField("message", n.message());
    g.writeStringField("action", n.action());
    g.writeNumberField("expires", n.expiresAt());
    if (n.missed()) {
      g.writeBooleanField("missed", true);
    }
    g.writeEndObject();
  }

  private static void writeIds(ApplicationIds ids, JsonGenerator g) throws IOException {
    if (ids == null) {
      return;
    }
    g.writeArrayFieldStart("application_ids");
    for (int i = 0; i < ids.size(); i++) {
      g.writeNumber(ids.get(i));
    }
    g.writeEndArray();
  }

  /** Writes the canonical lower-case form of {@code id}, 36 ASCII bytes. */
  static void writeUuid(UUID id, ByteBuf out) {
    long msb = id.getMostSignificantBits();
    long lsb = id.getLeastSignificantBits();
    writeHex(out, msb >>> 32, 8);
    out.writeByte('-');
    writeHex(out, msb >>> 16, 4);
    out.writeByte('-');
    writeHex(out, msb, 4);
    out.writeByte('-');
    writeHex(out, lsb >>> 48, 4);
    out.writeByte('-');
    writeHex(out, lsb, 12);
  }

  private static void writeHex(ByteBuf out, long value, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
      out.writeByte(HEX[(int) (value >>> (i * 4)) & 0xF]);
    }
  }
}
