package org.presence.gateway.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.presence.gateway.api.ApiCalls;
import org.presence.gateway.api.ApiJson;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.app.AppService;
import org.presence.gateway.config.AdminConfig;
import org.presence.gateway.device.DeviceService;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.Sha256;
import org.presence.store.Store;
import org.presence.store.app.Application;

/**
 * The operator's API and page on the admin port (docs/api.md#admin-api), under {@code /admin}:
 *
 * <ul>
 *   <li>{@code GET /admin/api/nodes}: the nodes with their leases and connection counts;
 *   <li>{@code GET /admin/api/apps/<id>}, {@code POST .../suspend}, {@code POST .../resume}, {@code
 *       POST .../key}: an application's state, suspending and resuming it, revoking its key;
 *   <li>{@code POST /admin/api/users/<sub>/disconnect}: ends every session of a user, on every
 *       node;
 *   <li>{@code GET /admin/api/health}: PostgreSQL (or the embedded database) and Redis (or the
 *       in-process bus);
 *   <li>{@code GET /admin}: a page over the same calls (its script and style are files of their
 *       own, so that its Content-Security-Policy allows no inline code).
 * </ul>
 *
 * Every API call needs {@code Authorization: Bearer <admin.token>} ({@code UNAUTHORIZED}, 401, with
 * a wrong or missing token); with no token configured every call is refused with {@code
 * ADMIN_API_DISABLED} (403), on loopback too. The page itself holds nothing secret: the operator
 * types the token into it, and its script sends it with each call (no cookie, so no cross-site
 * request can use it).
 */
public final class AdminApi {
  /** The page's Content-Security-Policy: its own script, style and API, nothing else. */
  static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
          + "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

  private final byte[] tokenHash;
  private final AppService apps;
  private final DeviceService devices;
  private final NodeReports nodes;
  private final Store store;
  private final Map<String, byte[]> assets;

  AdminApi(
      AdminConfig config, AppService apps, DeviceService devices, NodeReports nodes, Store store) {
    this.tokenHash = config.token() == null ? null : sha256(config.token());
    this.apps = apps;
    this.devices = devices;
    this.nodes = nodes;
    this.store = store;
    this.assets =
        Map.of(
            "admin.html", resource("admin.html"),
            "admin.js", resource("admin.js"),
            "admin.css", resource("admin.css"));
  }

  /**
   * The admin API of a node: listens for node report requests (so that any node's admin API can
   * list this one) and returns the routes to add to the admin port.
   */
  public static AdminApi start(
      AdminConfig config,
      String nodeId,
      Store store,
      AppService apps,
      DeviceService devices,
      org.presence.gateway.cluster.NodeLiveness liveness,
      org.presence.gateway.config.ClusterConfig cluster,
      org.presence.gateway.metrics.GatewayMetrics metrics,
      java.util.function.IntSupplier deviceSessions) {
    NodeReports reports =
        new NodeReports(
            nodeId, store.bus(), store.nodes(), liveness, cluster, metrics, deviceSessions);
    try {
      reports.start().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot listen for node report requests: " + e, e);
    }
    return new AdminApi(config, apps, devices, reports, store);
  }

  /** Adds the page and the API to the admin port's {@code routes}. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/admin", ex -> asset(ex, "admin.html", "text/html; charset=utf-8"))
        .get("/admin/admin.js", ex -> asset(ex, "admin.js", "text/javascript; charset=utf-8"))
        .get("/admin/admin.css", ex -> asset(ex, "admin.css", "text/css; charset=utf-8"))
        .get("/admin/api/nodes", ex -> call(ex, this::nodes))
        .get("/admin/api/health", ex -> call(ex, this::health))
        .get("/admin/api/apps/{id}", ex -> call(ex, this::app))
        .post("/admin/api/apps/{id}/suspend", ex -> call(ex, this::suspend))
        .post("/admin/api/apps/{id}/resume", ex -> call(ex, this::resume))
        .post("/admin/api/apps/{id}/key", ex -> call(ex, this::revokeKey))
        .post("/admin/api/users/{sub}/disconnect", ex -> call(ex, this::disconnect));
  }

  private void asset(HttpExchange ex, String name, String type) {
    ex.respond(
        HttpResponseStatus.OK,
        type,
        io.netty.buffer.Unpooled.wrappedBuffer(assets.get(name)),
        h -> {
          h.set("Content-Security-Policy", CSP);
          h.set("X-Frame-Options", "DENY");
          h.set("Referrer-Policy", "no-referrer");
        });
  }

  /** What a call answers: a JSON writer, once its work is done. */
  private interface Call extends Function<HttpExchange, CompletionStage<HttpExchange.JsonWriter>> {}

  private void call(HttpExchange ex, Call call) {
    if (tokenHash == null) {
      ex.error(ErrorCode.ADMIN_API_DISABLED, "set admin.token or admin.token-file");
      return;
    }
    String auth = ex.header(HttpHeaderNames.AUTHORIZATION);
    if (auth == null
        || !auth.regionMatches(true, 0, "Bearer ", 0, 7)
        || !MessageDigest.isEqual(tokenHash, sha256(auth.substring(7).strip()))) {
      ApiCalls.fail(
          ex,
          new ProtocolException(
              ErrorCode.UNAUTHORIZED, "send Authorization: Bearer <admin token>"));
      return;
    }
    CompletionStage<HttpExchange.JsonWriter> answer;
    try {
      answer = call.apply(ex);
    } catch (RuntimeException e) {
      ApiCalls.fail(ex, e);
      return;
    }
    answer.whenComplete(
        (writer, e) -> {
          if (e != null) {
            ApiCalls.fail(ex, e);
          } else {
            ex.json(HttpResponseStatus.OK, writer);
          }
        });
  }

  private CompletionStage<HttpExchange.JsonWriter> nodes(HttpExchange ex) {
    return nodes
        .nodes()
        .thenApply(
            list ->
                g -> {
                  g.writeStartObject();
                  g.writeArrayFieldStart("nodes");
                  for (NodeReports.Node n : list) {
                    g.writeStartObject();
                    g.writeStringField("node", n.node());
                    g.writeBooleanField("leased", n.leased());
                    g.writeBooleanField("reachable", n.report() != null);
                    if (n.report() != null) {
                      for (String f :
                          new String[] {
                            "lease_ok",
                            "lease_seconds",
                            "heartbeat_seconds",
                            "connections",
                            "device_sessions"
                          }) {
                        JsonNode v = n.report().get(f);
                        if (v != null) {
                          g.writeFieldName(f);
                          g.writeTree(v);
                        }
                      }
                    }
                    g.writeEndObject();
                  }
                  g.writeEndArray();
                  g.writeEndObject();
                });
  }

  private CompletionStage<HttpExchange.JsonWriter> health(HttpExchange ex) {
    String dbKind = store.persistence().kind();
    String busKind = store.bus().kind();
    return store
        .health()
        .thenApply(
            checks ->
                g -> {
                  boolean ok = checks.values().stream().allMatch(v -> v == null);
                  g.writeStartObject();
                  g.writeStringField("status", ok ? "ok" : "degraded");
                  check(g, "database", dbKind, checks.get("database"));
                  check(g, "bus", busKind, checks.get("bus"));
                  g.writeEndObject();
                });
  }

  private static void check(JsonGenerator g, String name, String kind, String problem)
      throws IOException {
    g.writeObjectFieldStart(name);
    g.writeStringField("kind", kind);
    g.writeStringField("status", problem == null ? "ok" : "error");
    if (problem != null) {
      g.writeStringField("error", problem);
    }
    g.writeEndObject();
  }

  private CompletionStage<HttpExchange.JsonWriter> app(HttpExchange ex) {
    return apps.find(AppsApi.parseAppId(ex.param("id"))).thenApply(a -> g -> app(g, a));
  }

  private CompletionStage<HttpExchange.JsonWriter> suspend(HttpExchange ex) {
    return apps.suspend(AppsApi.parseAppId(ex.param("id"))).thenApply(a -> g -> app(g, a));
  }

  private CompletionStage<HttpExchange.JsonWriter> resume(HttpExchange ex) {
    return apps.resume(AppsApi.parseAppId(ex.param("id"))).thenApply(k -> g -> issued(g, k));
  }

  private CompletionStage<HttpExchange.JsonWriter> revokeKey(HttpExchange ex) {
    return apps.revokeKey(AppsApi.parseAppId(ex.param("id"))).thenApply(k -> g -> issued(g, k));
  }

  private static void issued(JsonGenerator g, AppService.IssuedKey k) throws IOException {
    ApiJson.issuedKey(g, k);
  }

  private CompletionStage<HttpExchange.JsonWriter> disconnect(HttpExchange ex) {
    String sub = ex.param("sub");
    if (sub.length() > 255) {
      throw new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, "sub: at most 255 characters");
    }
    return devices
        .disconnectUser(sub)
        .thenApply(
            n ->
                g -> {
                  g.writeStartObject();
                  g.writeStringField("user", sub);
                  g.writeNumberField("sessions", n);
                  g.writeEndObject();
                });
  }

  /** An application as the operator sees it: no secrets (no key, verification key or secret). */
  private static void app(JsonGenerator g, Application a) throws IOException {
    g.writeStartObject();
    g.writeNumberField("id", a.id());
    g.writeStringField("name", a.name());
    g.writeStringField("domain", a.domain());
    g.writeStringField("owner_email", a.ownerEmail());
    g.writeStringField("state", a.state().wireName());
    g.writeBooleanField("suspended", a.suspended());
    g.writeStringField("webhook_url", a.webhookUrl());
    g.writeStringField("created_at", a.createdAt().toString());
    g.writeStringField("updated_at", a.updatedAt().toString());
    g.writeEndObject();
  }

  private static byte[] sha256(String s) {
    return Sha256.of(s);
  }

  private static byte[] resource(String name) {
    try (InputStream in = AdminApi.class.getResourceAsStream("/admin/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource /admin/" + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
