package org.presence.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The client's small JSON codec on jackson-core: a frame or body is read into plain maps, lists,
 * strings, {@code Long}/{@code Double}, booleans and {@code null}; requests are written with a
 * generator. The node's frames are small (a notification frame is at most about 40 KiB), so a tree
 * per frame costs little.
 */
final class ClientJson {
  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(32)
                  .maxStringLength(1 << 20)
                  .maxNumberLength(32)
                  .build())
          .build();

  private ClientJson() {}

  /** Writes JSON with {@code body} and returns the text. */
  static String write(Writer body) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** What writes one JSON document. */
  interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  /** Reads one JSON document; {@link PresenceException} (errno 10) when it is not one. */
  static Object read(String text) {
    try (JsonParser p = FACTORY.createParser(text)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw malformed("empty document");
      }
      Object value = value(p, t);
      if (p.nextToken() != null) {
        throw malformed("more than one document");
      }
      return value;
    } catch (IOException e) {
      throw malformed(e.getMessage());
    }
  }

  private static PresenceException malformed(String detail) {
    return new PresenceException(10, 0, "Malformed JSON from the node: " + detail);
  }

  private static Object value(JsonParser p, JsonToken t) throws IOException {
    switch (t) {
      case START_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          m.put(name, value(p, p.nextToken()));
        }
        return m;
      }
      case START_ARRAY -> {
        List<Object> l = new ArrayList<>();
        JsonToken n;
        while ((n = p.nextToken()) != JsonToken.END_ARRAY) {
          l.add(value(p, n));
        }
        return l;
      }
      case VALUE_STRING -> {
        return p.getText();
      }
      case VALUE_NUMBER_INT -> {
        return p.getLongValue();
      }
      case VALUE_NUMBER_FLOAT -> {
        return p.getDoubleValue();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw malformed("unexpected " + t);
    }
  }

  // Typed access to the trees read above.

  @SuppressWarnings("unchecked")
  static Map<String, Object> object(Object v) {
    return v instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object v) {
    return v instanceof List<?> l ? (List<Object>) l : null;
  }

  static String string(Map<String, Object> m, String name) {
    return m.get(name) instanceof String s ? s : null;
  }

  static long number(Map<String, Object> m, String name, long otherwise) {
    return m.get(name) instanceof Long l ? l : otherwise;
  }

  static boolean isTrue(Map<String, Object> m, String name) {
    return Boolean.TRUE.equals(m.get(name));
  }

  static List<String> strings(Object v) {
    List<Object> l = list(v);
    List<String> out = new ArrayList<>();
    if (l != null) {
      for (Object o : l) {
        if (o instanceof String s) {
          out.add(s);
        }
      }
    }
    return out;
  }
}
