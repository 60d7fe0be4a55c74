package org.presence.gateway.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.presence.gateway.http.HttpExchange;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;

/**
 * A flat JSON object from a request body, as the JSON API's requests are: string, integer, boolean
 * and null members; unknown members are kept and ignored by the caller; nested values are refused.
 * Read with the streaming parser under {@link Json#documents()}'s limits.
 */
public final class JsonBody {
  /** The value of an integer member that fits no {@code long}: out of range of every field. */
  private static final Object OUT_OF_RANGE = new Object();

  private final Map<String, Object> fields;

  private JsonBody(Map<String, Object> fields) {
    this.fields = fields;
  }

  /**
   * Reads the exchange's body (while the handler runs) for a call that takes none: an empty body is
   * an empty object; one that is sent is checked as {@link #required} checks it.
   */
  public static JsonBody read(HttpExchange ex) {
    if (ex.body().readableBytes() == 0) {
      return new JsonBody(Map.of());
    }
    return required(ex);
  }

  /**
   * Reads the exchange's body (while the handler runs) for a call that takes one. Fails with {@code
   * UNSUPPORTED_MEDIA_TYPE} unless the type is JSON, {@code MALFORMED_JSON} when it is not a
   * well-formed flat object, an empty body included: an empty body is no JSON document (RFC 8259
   * §2), and a call that changes something refuses it as the other JSON routes do, rather than
   * taking it for a change of nothing.
   */
  public static JsonBody required(HttpExchange ex) {
    String type = ex.header(HttpHeaderNames.CONTENT_TYPE);
    if (!HttpExchange.isJson(type)) {
      throw new ProtocolException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send application/json");
    }
    if (ex.body().readableBytes() == 0) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "empty body: send a JSON object");
    }
    Map<String, Object> out = new HashMap<>();
    try (JsonParser p = Json.parser(Json.documents(), ex.body())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected an object");
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (v) {
          case VALUE_STRING -> out.put(name, p.getText());
          case VALUE_NUMBER_INT ->
              out.put(
                  name,
                  p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                      ? OUT_OF_RANGE
                      : p.getLongValue());
          case VALUE_TRUE -> out.put(name, Boolean.TRUE);
          case VALUE_FALSE -> out.put(name, Boolean.FALSE);
          case VALUE_NULL -> out.put(name, null);
          default ->
              throw new ProtocolException(
                  ErrorCode.WRONG_FIELD_TYPE, name + ": expected a string, integer or boolean");
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing content");
      }
    } catch (IOException e) {
      throw Json.refusal(e);
    }
    return new JsonBody(out);
  }

  /** Whether the member is present (even as null). */
  public boolean has(String name) {
    return fields.containsKey(name);
  }

  /** A string member, or null when absent or null; {@code WRONG_FIELD_TYPE} for other types. */
  public String string(String name) {
    Object v = fields.get(name);
    if (v == null || v instanceof String) {
      return (String) v;
    }
    throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, name + ": expected a string");
  }

  /**
   * An integer member, or null; {@code WRONG_FIELD_TYPE} for other types, {@code
   * INVALID_FIELD_VALUE} for an integer that fits no {@code long}.
   */
  public Long integer(String name) {
    Object v = fields.get(name);
    if (v == null || v instanceof Long) {
      return (Long) v;
    }
    if (v == OUT_OF_RANGE) {
      throw new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, name + ": out of range");
    }
    throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, name + ": expected an integer");
  }

  /** An integer member that must fit an int, or null. */
  public Integer smallInt(String name) {
    Long v = integer(name);
    if (v == null) {
      return null;
    }
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, name + ": out of range");
    }
    return v.intValue();
  }

  /** A boolean member, or null; {@code WRONG_FIELD_TYPE} for other types. */
  public Boolean bool(String name) {
    Object v = fields.get(name);
    if (v == null || v instanceof Boolean) {
      return (Boolean) v;
    }
    throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, name + ": expected true or false");
  }
}
