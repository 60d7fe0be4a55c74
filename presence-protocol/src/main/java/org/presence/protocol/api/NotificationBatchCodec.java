package org.presence.protocol.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;

/**
 * The live-notification API's bodies (wiki section 6, {@code POST /<appid>/notification}): the
 * batch an application posts, judged item by item, and the acknowledgement it gets back. Pure
 * functions over {@link ByteBuf}s; the gateway decodes batches and encodes acks, clients (the load
 * harness, tests) do the opposite. {@code docs/notifications.md} shows both shapes.
 *
 * <h2>Judging a batch</h2>
 *
 * The body must be one JSON list; anything else, or broken JSON anywhere, refuses the whole batch
 * ({@link ErrorCode#MALFORMED_JSON}; invalid UTF-8 anywhere is found before any item is read, by
 * {@link Json#parser}), as do an empty list ({@link ErrorCode#INVALID_NOTIFICATION}) and more than
 * {@link Limits#maxBatch} items ({@link ErrorCode#BATCH_TOO_LARGE}, found without reading past the
 * first item too many). Each item is then judged on its own: a bad item gets {@link
 * ErrorCode#INVALID_NOTIFICATION} with the first problem in document order as detail, and never
 * costs a good sibling. An item is an object with:
 *
 * <ul>
 *   <li>{@code UID}: the user's PUID, a string (checked against the grants by the caller);
 *   <li>{@code message}: 1 to {@link Limits#maxTextLength} characters (code points), no control
 *       characters other than line feed and tab, no bidirectional overrides or isolates
 *       (U+202A–U+202E, U+2066–U+2069), no unpaired surrogates;
 *   <li>{@code action}: 1 to {@link Limits#maxTextLength} characters, an absolute URI whose scheme
 *       is one of {@link Limits#actionSchemes}; {@code http}, {@code https} and {@code app} URIs
 *       need a host, a DNS name or an IP address, with a port (if any) of 1 to 65535, and may not
 *       carry user information; no white space or control characters;
 *   <li>{@code ttl} (optional): whole seconds, {@link Limits#minTtlSeconds} to {@link
 *       Limits#maxTtlSeconds};
 *   <li>{@code receipts} (optional): {@code true} to get receipts for this item.
 * </ul>
 *
 * {@code null} is an absent member; unknown members are ignored; a known member twice is an error
 * of the item.
 */
public final class NotificationBatchCodec {
  /** Schemes whose URIs must name a host (and no user). */
  private static final Set<String> HOST_SCHEMES = Set.of("http", "https", "app");

  /**
   * What a batch may hold.
   *
   * @param maxBatch most items in one batch
   * @param maxTextLength longest message and action, in characters (code points)
   * @param minTtlSeconds shortest ttl
   * @param maxTtlSeconds longest ttl
   * @param actionSchemes the URI schemes an action may use, lower case
   * @param maxBodyBytes longest body
   */
  public record Limits(
      int maxBatch,
      int maxTextLength,
      int minTtlSeconds,
      int maxTtlSeconds,
      Set<String> actionSchemes,
      int maxBodyBytes) {
    public Limits {
      if (maxBatch < 1
          || maxTextLength < 1
          || minTtlSeconds < 1
          || maxTtlSeconds < minTtlSeconds
          || maxBodyBytes < 1) {
        throw new IllegalArgumentException("invalid notification limits");
      }
      actionSchemes = Set.copyOf(actionSchemes);
    }

    /** The wiki's limits: 512 characters, ttl 5 s to 1 h, 100 items, http(s) and app URIs. */
    public static Limits defaults() {
      return new Limits(100, 512, 5, 3600, Set.of("http", "https", "app"), 1 << 20);
    }
  }

  /**
   * One well-formed item.
   *
   * @param uid the PUID it is for
   * @param message the text
   * @param action the URL or app URI
   * @param ttlSeconds its ttl, or {@code null} for the default
   * @param receipts whether the application wants receipts for it
   */
  public record Item(
      String uid, String message, String action, Integer ttlSeconds, boolean receipts) {
    public Item {
      Objects.requireNonNull(uid, "uid");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(action, "action");
    }
  }

  /** One judged item: either {@code item} or an error, in the batch's order. */
  public record Judged(Item item, ProtocolException error) {
    /** Whether the item was well-formed. */
    public boolean ok() {
      return item != null;
    }
  }

  /**
   * The outcome of one item in the acknowledgement.
   *
   * @param id the stored notification's id, or {@code null} when refused
   * @param queueSize the size of its (user, app) queue after it was added
   * @param dropped ids of older items of the same queue dropped to make room
   * @param errno the error when refused (0 when stored)
   * @param reason the error's reason when refused
   */
  public record ItemResult(
      String id, int queueSize, List<String> dropped, int errno, String reason) {
    public ItemResult {
      dropped = dropped == null ? List.of() : List.copyOf(dropped);
    }

    /** A stored item. */
    public static ItemResult stored(String id, int queueSize, List<String> dropped) {
      return new ItemResult(Objects.requireNonNull(id), queueSize, dropped, 0, null);
    }

    /** A refused item. */
    public static ItemResult refused(ErrorCode code, String detail) {
      return new ItemResult(null, 0, List.of(), code.errno(), code.reasonWith(detail));
    }

    /** Whether the item was stored. */
    public boolean isStored() {
      return id != null;
    }
  }

  /**
   * The acknowledgement of a judged batch (HTTP 200): the wiki's {@code {"result": "OK",
   * "queue_size": n}} plus one result per item.
   *
   * @param result {@code OK} (every item stored), {@code PARTIAL} (some) or {@code KO} (none)
   * @param queueSize the largest queue size among stored items; {@code -1} when none was stored
   *     (then absent on the wire)
   * @param results one per item, in the batch's order
   */
  public record Ack(String result, int queueSize, List<ItemResult> results) {
    public Ack {
      Objects.requireNonNull(result, "result");
      results = List.copyOf(results);
    }

    /** The acknowledgement for {@code results}: result and queue size follow from them. */
    public static Ack of(List<ItemResult> results) {
      int stored = 0;
      int max = -1;
      for (ItemResult r : results) {
        if (r.isStored()) {
          stored++;
          max = Math.max(max, r.queueSize());
        }
      }
      String result = stored == results.size() ? "OK" : stored == 0 ? "KO" : "PARTIAL";
      return new Ack(result, max, results);
    }

    /** Items stored. */
    public int stored() {
      return (int) results.stream().filter(ItemResult::isStored).count();
    }
  }

  private static final int F_UID = 0;
  private static final int F_MESSAGE = 1;
  private static final int F_ACTION = 2;
  private static final int F_TTL = 3;
  private static final int F_RECEIPTS = 4;

  private final Limits limits;
  private final JsonFactory factory;

  /** A codec for batches within {@code limits}; thread-safe. */
  public NotificationBatchCodec(Limits limits) {
    this.limits = limits;
    // Duplicate members are an item's error, not the whole body's: the codec finds them itself.
    // So is a string or number too long for its field: the body's limit bounds them, not the
    // parser's per-value limits (a long number's type is read, never its value).
    this.factory =
        Json.build(limits.maxBodyBytes(), false, limits.maxBodyBytes(), limits.maxBodyBytes());
  }

  public Limits limits() {
    return limits;
  }

  // ---------------------------------------------------------------------------------------------
  // Batches (server side)

  /**
   * Judges the batch in the readable bytes of {@code body} (left unchanged, still owned by the
   * caller).
   *
   * @throws ProtocolException when the whole batch is refused
   */
  public List<Judged> decode(ByteBuf body) {
    // A duplicate: reading must not move the caller's reader index.
    try (JsonParser p = Json.parser(factory, body.duplicate())) {
      JsonToken first = p.nextToken();
      if (first != JsonToken.START_ARRAY) {
        throw new ProtocolException(
            ErrorCode.MALFORMED_JSON, "expected a JSON list of notifications");
      }
      List<Judged> out = new ArrayList<>();
      LastAction last = new LastAction();
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        if (t == null) {
          throw new ProtocolException(ErrorCode.MALFORMED_JSON, "truncated list");
        }
        if (out.size() == limits.maxBatch()) {
          throw new ProtocolException(ErrorCode.BATCH_TOO_LARGE, "limit is " + limits.maxBatch());
        }
        if (t != JsonToken.START_OBJECT) {
          p.skipChildren();
          out.add(refused("expected an object"));
          continue;
        }
        out.add(item(p, last));
      }
      if (p.nextToken() != null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing content after the list");
      }
      if (out.isEmpty()) {
        throw new ProtocolException(ErrorCode.INVALID_NOTIFICATION, "empty batch");
      }
      return out;
    } catch (IOException e) {
      throw Json.refusal(e);
    }
  }

  private static Judged refused(String detail) {
    return new Judged(null, new ProtocolException(ErrorCode.INVALID_NOTIFICATION, detail));
  }

  /** The fields of one item as they are read, and the first reason to refuse it. */
  private static final class ItemFields {
    int seen;
    String error;
    String uid;
    String message;
    String action;
    Integer ttl;
    boolean receipts;
  }

  /**
   * The last action of a batch that was checked and its verdict: an application usually gives the
   * items of a batch one action, whose check (a {@link URI} parse for a host) then runs once.
   */
  private static final class LastAction {
    String text;
    String verdict;
  }

  /**
   * Reads one item object, the parser on its START_OBJECT; leaves it on the END_OBJECT. {@code
   * last} is the batch's last checked action.
   */
  private Judged item(JsonParser p, LastAction last) throws IOException {
    ItemFields f = new ItemFields();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      int field = itemField(name);
      if (field < 0) {
        p.skipChildren();
      } else if ((f.seen & (1 << field)) != 0) {
        p.skipChildren();
        if (f.error == null) {
          f.error = "duplicate field " + name;
        }
      } else {
        f.seen |= 1 << field;
        if (v == JsonToken.VALUE_NULL) {
          continue;
        }
        if (f.error != null) {
          p.skipChildren();
          continue;
        }
        f.error = value(p, f, field, v, last);
        if (f.error != null && (v == JsonToken.START_ARRAY || v == JsonToken.START_OBJECT)) {
          p.skipChildren();
        }
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "truncated item");
    }
    String error = f.error != null ? f.error : missing(f);
    if (error != null) {
      return refused(error);
    }
    return new Judged(new Item(f.uid, f.message, f.action, f.ttl, f.receipts), null);
  }

  /** The slot of an item's field name, or -1 for a field the API does not know. */
  private static int itemField(String name) {
    return switch (name) {
      case "UID" -> F_UID;
      case "message" -> F_MESSAGE;
      case "action" -> F_ACTION;
      case "ttl" -> F_TTL;
      case "receipts" -> F_RECEIPTS;
      default -> -1;
    };
  }

  /**
   * Reads the value of {@code field}, which starts with token {@code v} (not {@code null}), into
   * {@code f}; the reason to refuse the item, or {@code null}. An action the batch's last checked
   * one ({@code last}) repeats gets its verdict.
   */
  private String value(JsonParser p, ItemFields f, int field, JsonToken v, LastAction last)
      throws IOException {
    switch (field) {
      case F_UID -> {
        if (v != JsonToken.VALUE_STRING) {
          return "UID: expected a string";
        }
        f.uid = p.getText();
        return null;
      }
      case F_MESSAGE -> {
        if (v != JsonToken.VALUE_STRING) {
          return "message: expected a string";
        }
        f.message = p.getText();
        return checkMessage(f.message);
      }
      case F_ACTION -> {
        if (v != JsonToken.VALUE_STRING) {
          return "action: expected a string";
        }
        f.action = p.getText();
        if (!f.action.equals(last.text)) {
          last.verdict = checkAction(f.action);
          last.text = f.action;
        }
        return last.verdict;
      }
      case F_TTL -> {
        if (v != JsonToken.VALUE_NUMBER_INT) {
          return "ttl: expected whole seconds";
        }
        if (p.getNumberType() != JsonParser.NumberType.INT
            || p.getIntValue() < limits.minTtlSeconds()
            || p.getIntValue() > limits.maxTtlSeconds()) {
          return "ttl: " + limits.minTtlSeconds() + " to " + limits.maxTtlSeconds() + " seconds";
        }
        f.ttl = p.getIntValue();
        return null;
      }
      case F_RECEIPTS -> {
        if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE) {
          return "receipts: expected true or false";
        }
        f.receipts = v == JsonToken.VALUE_TRUE;
        return null;
      }
      default -> throw new IllegalStateException("field " + field);
    }
  }

  /** The reason to refuse an item that lacks a required field, or {@code null}. */
  private static String missing(ItemFields f) {
    if (f.uid == null) {
      return "UID is required";
    } else if (f.message == null) {
      return "message is required";
    } else if (f.action == null) {
      return "action is required";
    }
    return null;
  }

  private String checkMessage(String s) {
    String length = length("message", s);
    if (length != null) {
      return length;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
          continue;
        }
        return "message: unpaired surrogate";
      }
      if (Character.isLowSurrogate(c)) {
        return "message: unpaired surrogate";
      }
      if (c == '\n' || c == '\t') {
        continue;
      }
      if (Character.isISOControl(c)) {
        return "message: control character U+" + hex(c);
      }
      if ((c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069')) {
        return "message: bidirectional control U+" + hex(c);
      }
    }
    return null;
  }

  private String length(String field, String s) {
    if (s.isEmpty()) {
      return field + ": empty";
    }
    if (s.length() > limits.maxTextLength()
        && s.codePointCount(0, s.length()) > limits.maxTextLength()) {
      return field + ": at most " + limits.maxTextLength() + " characters";
    }
    return null;
  }

  private static String hex(char c) {
    return String.format(Locale.ROOT, "%04X", (int) c);
  }

  private String checkAction(String s) {
    String length = length("action", s);
    if (length != null) {
      return length;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= ' '
          || Character.isISOControl(c)
          || Character.isWhitespace(c)
          || Character.isSpaceChar(c)) {
        return "action: white space or control character";
      }
    }
    int colon = s.indexOf(':');
    if (colon <= 0 || !schemeChars(s, colon)) {
      return schemeError();
    }
    String scheme = s.substring(0, colon).toLowerCase(Locale.ROOT);
    if (!limits.actionSchemes().contains(scheme)) {
      return schemeError();
    }
    // RFC 3986 characters only, percent signs followed by two hex digits; brackets only around
    // an IPv6 host.
    for (int i = colon + 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        if (i + 2 >= s.length() || hexDigit(s.charAt(i + 1)) < 0 || hexDigit(s.charAt(i + 2)) < 0) {
          return "action: not a valid URI";
        }
        i += 2;
      } else if (c > 0x7e) {
        // An emoji or any other letter outside ASCII (a surrogate included): RFC 3986 has it
        // percent-encoded in UTF-8, and a host in its ASCII (punycode) form.
        return "action: not a valid URI: percent-encode what is outside ASCII";
      } else if (!uriChar(c)) {
        return "action: not a valid URI";
      }
    }
    if (HOST_SCHEMES.contains(scheme)) {
      if (!hostPart(s, colon + 1)) {
        return "action: " + scheme + " URI needs a host and no user";
      }
      return serverProblem(s);
    }
    return null;
  }

  /**
   * What is wrong with the host and port of an action that needs a host, as {@link URI} judges
   * them, or {@code null}: the host must be a DNS name (labels of letters, digits and inner
   * hyphens, at most 63 characters each and 253 in all, the last starting with a letter) or an IP
   * address (IPv6 in brackets), the port, when given, 1 to 65535. An authority that is no such host
   * and port is one {@link URI} takes as registry-based: it has no host.
   */
  private static String serverProblem(String s) {
    URI uri;
    try {
      uri = new URI(s);
    } catch (URISyntaxException e) {
      return "action: not a valid URI";
    }
    if (uri.getHost() == null) {
      try {
        uri.parseServerAuthority();
      } catch (URISyntaxException e) {
        // The JDK's own verdict tells a port too large for any number from a bad host.
        if (e.getReason().contains("port")) {
          return "action: port must be 1 to 65535";
        }
      }
      return "action: host must be a DNS name or an IP address";
    }
    String host = uri.getHost();
    if (!host.startsWith("[")) {
      String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
      if (name.length() > 253) {
        return "action: host must be a DNS name or an IP address";
      }
      for (String label : name.split("\\.", -1)) {
        if (label.length() > 63) {
          return "action: host must be a DNS name or an IP address";
        }
      }
    }
    int port = uri.getPort();
    if (port != -1 && (port < 1 || port > 65535)) {
      return "action: port must be 1 to 65535";
    }
    return null;
  }

  private String schemeError() {
    return "action: a URI with scheme "
        + String.join(", ", limits.actionSchemes().stream().sorted().toList());
  }

  private static boolean schemeChars(String s, int end) {
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      boolean letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (i == 0
          ? !letter
          : !(letter || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  private static int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  /** An unreserved or reserved character of RFC 3986 (brackets are checked with the host). */
  private static boolean uriChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || "-._~:/?#[]@!$&'()*+,;=".indexOf(c) >= 0;
  }

  /**
   * Whether the hierarchical part from {@code from} is {@code //host[:port]...} with a non-empty
   * host, no user information, and brackets only around an IPv6 host.
   */
  private static boolean hostPart(String s, int from) {
    if (!s.startsWith("//", from)) {
      return false;
    }
    int start = from + 2;
    int end = start;
    while (end < s.length() && "/?#".indexOf(s.charAt(end)) < 0) {
      end++;
    }
    String authority = s.substring(start, end);
    if (authority.indexOf('@') >= 0 || (s.indexOf('[', end) >= 0 || s.indexOf(']', end) >= 0)) {
      return false;
    }
    String host;
    String port;
    if (authority.startsWith("[")) {
      int close = authority.indexOf(']');
      if (close < 2) {
        return false;
      }
      host = authority.substring(0, close + 1);
      port = authority.substring(close + 1);
    } else {
      int c = authority.indexOf(':');
      host = c < 0 ? authority : authority.substring(0, c);
      port = c < 0 ? "" : authority.substring(c);
      if (host.indexOf('[') >= 0 || host.indexOf(']') >= 0) {
        return false;
      }
    }
    if (host.isEmpty()) {
      return false;
    }
    if (!port.isEmpty()) {
      if (!port.startsWith(":")) {
        return false;
      }
      for (int i = 1; i < port.length(); i++) {
        if (port.charAt(i) < '0' || port.charAt(i) > '9') {
          return false;
        }
      }
    }
    return true;
  }

  /** Appends a batch of {@code items} to {@code out} (clients). */
  public static void encodeBatch(List<Item> items, ByteBuf out) {
    try (JsonGenerator g = Json.generator(out)) {
      g.writeStartArray();
      for (Item i : items) {
        g.writeStartObject();
        g.writeStringField("UID", i.uid());
        g.writeStringField("message", i.message());
        g.writeStringField("action", i.action());
        if (i.ttlSeconds() != null) {
          g.writeNumberField("ttl", i.ttlSeconds());
        }
        if (i.receipts()) {
          g.writeBooleanField("receipts", true);
        }
        g.writeEndObject();
      }
      g.writeEndArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Acknowledgements

  /** Appends {@code ack} to {@code out}. */
  public static void encodeAck(Ack ack, ByteBuf out) {
    try (JsonGenerator g = Json.generator(out)) {
      writeAck(g, ack);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes {@code ack} with a generator. */
  public static void writeAck(JsonGenerator g, Ack ack) throws IOException {
    g.writeStartObject();
    g.writeStringField("result", ack.result());
    if (ack.queueSize() >= 0) {
      g.writeNumberField("queue_size", ack.queueSize());
    }
    g.writeArrayFieldStart("results");
    for (ItemResult r : ack.results()) {
      g.writeStartObject();
      if (r.isStored()) {
        g.writeStringField("result", "OK");
        g.writeStringField("id", r.id());
        g.writeNumberField("queue_size", r.queueSize());
        if (!r.dropped().isEmpty()) {
          g.writeArrayFieldStart("dropped");
          for (String d : r.dropped()) {
            g.writeString(d);
          }
          g.writeEndArray();
        }
      } else {
        g.writeStringField("result", "KO");
        g.writeNumberField("errno", r.errno());
        g.writeStringField("reason", r.reason());
      }
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  /**
   * Reads an acknowledgement (clients, tests).
   *
   * @throws ProtocolException ({@link ErrorCode#MALFORMED_JSON}) when the body is not one
   */
  public static Ack decodeAck(ByteBuf body) {
    try (JsonParser p = Json.parser(Json.documents(), body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected an object");
      }
      String result = null;
      int queueSize = -1;
      List<ItemResult> results = new ArrayList<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "result" -> result = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "queue_size" -> queueSize = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : -1;
          case "results" -> {
            if (v != JsonToken.START_ARRAY) {
              throw new ProtocolException(ErrorCode.MALFORMED_JSON, "results is not a list");
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
              results.add(readResult(p));
            }
          }
          default -> p.skipChildren();
        }
      }
      if (result == null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "not a notification ack");
      }
      return new Ack(result, queueSize, results);
    } catch (IOException e) {
      throw Json.refusal(e);
    }
  }

  private static ItemResult readResult(JsonParser p) throws IOException {
    String id = null;
    int queueSize = 0;
    List<String> dropped = new ArrayList<>();
    int errno = 0;
    String reason = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      switch (name) {
        case "id" -> id = v == JsonToken.VALUE_STRING ? p.getText() : null;
        case "queue_size" -> queueSize = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : 0;
        case "errno" -> errno = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : 0;
        case "reason" -> reason = v == JsonToken.VALUE_STRING ? p.getText() : null;
        case "dropped" -> {
          if (v == JsonToken.START_ARRAY) {
            while (p.nextToken() == JsonToken.VALUE_STRING) {
              dropped.add(p.getText());
            }
          } else {
            p.skipChildren();
          }
        }
        default -> p.skipChildren();
      }
    }
    return new ItemResult(id, queueSize, dropped, errno, reason);
  }
}
