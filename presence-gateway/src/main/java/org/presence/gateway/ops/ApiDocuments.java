package org.presence.gateway.ops;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;

/**
 * The machine-readable descriptions of the node's APIs (docs/api.md), served on the gateway port:
 *
 * <ul>
 *   <li>{@code GET /api/openapi.json}: OpenAPI 3.1, every HTTP route of both ports;
 *   <li>{@code GET /api/asyncapi.json}: AsyncAPI 3, the device channel, the update channel and the
 *       stream.
 * </ul>
 *
 * Both are files of the jar ({@code api/*.json}), read once; tests keep them true to the route
 * table and to what the node sends.
 */
public final class ApiDocuments {
  /** Where the OpenAPI document is served. */
  public static final String OPENAPI = "/api/openapi.json";

  /** Where the AsyncAPI document is served. */
  public static final String ASYNCAPI = "/api/asyncapi.json";

  private final byte[] openApi = load("api/openapi.json");
  private final byte[] asyncApi = load("api/asyncapi.json");

  /** Adds both documents to the gateway port's {@code routes}. */
  public void register(HttpRoutes.Builder routes) {
    routes.get(OPENAPI, ex -> serve(ex, openApi)).get(ASYNCAPI, ex -> serve(ex, asyncApi));
  }

  private static void serve(HttpExchange ex, byte[] document) {
    ex.respond(
        HttpResponseStatus.OK,
        "application/json; charset=utf-8",
        Unpooled.wrappedBuffer(document),
        // Public descriptions: API tools in a browser on another origin may read them.
        h -> h.set("Access-Control-Allow-Origin", "*"));
  }

  /** A document of the jar, as bytes. */
  public static byte[] load(String name) {
    try (InputStream in = ApiDocuments.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing from the jar: " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
