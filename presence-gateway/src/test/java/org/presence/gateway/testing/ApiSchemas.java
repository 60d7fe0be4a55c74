package org.presence.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.gateway.ops.ApiDocuments;

/**
 * The schemas of the node's OpenAPI and AsyncAPI documents (docs/api.md), for tests to check what
 * they exchange with a node: {@link #assertAnswer} for an HTTP answer, {@link #assertMessage} for a
 * frame, {@link #assertUpdateFrame} for any frame of the update channel (UpdateClient checks each
 * one it reads). JSON Schema 2020-12 with networknt's validator; each schema is compiled once.
 */
public final class ApiSchemas {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SchemaRegistry REGISTRY =
      SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
  private static final JsonNode OPENAPI = read("api/openapi.json");
  private static final JsonNode ASYNCAPI = read("api/asyncapi.json");
  private static final Map<String, Schema> CACHE = new ConcurrentHashMap<>();

  private ApiSchemas() {}

  private static JsonNode read(String name) {
    try {
      return JSON.readTree(ApiDocuments.load(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static JsonNode openApi() {
    return OPENAPI;
  }

  public static JsonNode asyncApi() {
    return ASYNCAPI;
  }

  /** {@code schema} of {@code document}, with its {@code #/components/...} references resolved. */
  private static Schema compile(JsonNode document, JsonNode schema, String what) {
    if (!schema.isObject()) {
      throw new AssertionError("no schema in the API document for " + what);
    }
    ObjectNode wrapper = schema.deepCopy();
    wrapper.put("$schema", "https://json-schema.org/draft/2020-12/schema");
    wrapper.set("components", document.get("components"));
    return REGISTRY.getSchema(wrapper);
  }

  /**
   * The OpenAPI schema of the JSON answer of {@code method path} (as documented) with {@code
   * status}.
   */
  public static Schema response(String method, String path, int status) {
    String what = method + " " + path + " " + status;
    return CACHE.computeIfAbsent(
        "openapi " + what,
        k ->
            compile(
                OPENAPI,
                OPENAPI
                    .path("paths")
                    .path(path)
                    .path(method)
                    .path("responses")
                    .path(String.valueOf(status))
                    .path("content")
                    .path("application/json")
                    .path("schema"),
                what));
  }

  /** The payload schema of the AsyncAPI message {@code name} ({@code components.messages}). */
  public static Schema message(String name) {
    return CACHE.computeIfAbsent(
        "asyncapi " + name,
        k ->
            compile(
                ASYNCAPI,
                ASYNCAPI.path("components").path("messages").path(name).path("payload"),
                "message " + name));
  }

  /** Fails unless {@code body} validates against {@code schema}. */
  public static void assertValid(Schema schema, JsonNode body, String what) {
    List<Error> errors = schema.validate(body);
    assertThat(errors).as(what + " against the API document: " + body).isEmpty();
  }

  /** Fails unless the answer's JSON body is what the OpenAPI document says of it. */
  public static void assertAnswer(String method, String path, HttpResponse<String> r) {
    try {
      assertValid(
          response(method, path, r.statusCode()),
          JSON.readTree(r.body()),
          method + " " + path + " " + r.statusCode());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + r.body(), e);
    }
  }

  /** Fails unless {@code frame} is the AsyncAPI message {@code name}. */
  public static void assertMessage(String name, JsonNode frame) {
    assertValid(message(name), frame, name);
  }

  /** Fails unless {@code frame}, sent by the node on the update channel, is one it documents. */
  public static void assertUpdateFrame(JsonNode frame) {
    String name;
    if (frame.isArray()) {
      name = "updates";
    } else if (frame.has("snapshot")) {
      name = "snapshot";
    } else if (frame.has("receipts")) {
      name = "receipts";
    } else if (frame.path("result").asBoolean(false)) {
      name = "ok";
    } else {
      name = "error";
    }
    assertMessage(name, frame);
  }
}
