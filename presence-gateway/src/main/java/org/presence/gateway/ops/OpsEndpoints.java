package org.presence.gateway.ops;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.metrics.PrometheusExporter;
import org.presence.store.Store;
import org.presence.store.redis.RedisErrors;

/**
 * The operator's endpoints every node answers (the Dockerflow set plus metrics). The gateway port
 * serves the three Dockerflow endpoints ({@link #register}), which load balancers use; the admin
 * port ({@code admin.host}:{@code admin.port}, loopback by default) serves them and the metrics
 * ({@link #registerAdmin}), so that no client of the gateway port ever reads the metrics:
 *
 * <ul>
 *   <li>{@code GET /__lbheartbeat__}: 200 while the process is up, for load balancers;
 *   <li>{@code GET /__heartbeat__}: 200 while the database and the bus answer and the identity
 *       provider's keys are loaded, else 503 with {@code "status": "degraded"} naming what fails
 *       (the node keeps its sockets and serves what does not need it: load balancers should watch
 *       {@code __lbheartbeat__});
 *   <li>{@code GET /__version__}: version and commit;
 *   <li>{@code GET /metrics} (admin port only): Prometheus text exposition.
 * </ul>
 */
public final class OpsEndpoints {
  private final Store store;
  private final IdentityVerifier identity;
  private final PrometheusExporter exporter;
  private final BuildInfo build;
  private final String nodeId;

  /**
   * The store's health check, shared by every heartbeat that comes while one runs (either port), so
   * that heartbeats asked at any rate cost at most one database and one bus check at a time: anyone
   * may ask the gateway port's.
   */
  private final SharedCheck<Map<String, String>> health;

  public OpsEndpoints(
      Store store,
      IdentityVerifier identity,
      PrometheusExporter exporter,
      BuildInfo build,
      String nodeId) {
    this.store = store;
    this.identity = identity;
    this.exporter = exporter;
    this.build = build;
    this.nodeId = nodeId;
    this.health = new SharedCheck<>(store::health);
  }

  /** Adds the three Dockerflow routes to the gateway port's {@code routes}. */
  public void register(HttpRoutes.Builder routes) {
    register(routes, false);
  }

  /**
   * Adds the Dockerflow routes and {@code /metrics} to the admin port's {@code routes}; its
   * heartbeat says what each failing part answered.
   */
  public void registerAdmin(HttpRoutes.Builder routes) {
    register(routes, true);
    routes.get("/metrics", this::metrics);
  }

  private void register(HttpRoutes.Builder routes, boolean details) {
    routes
        .get("/__lbheartbeat__", this::lbHeartbeat)
        .get("/__heartbeat__", ex -> heartbeat(ex, details))
        .get("/__version__", this::version);
  }

  private void lbHeartbeat(HttpExchange ex) {
    ex.json(
        HttpResponseStatus.OK,
        g -> {
          g.writeStartObject();
          g.writeStringField("status", "ok");
          g.writeEndObject();
        });
  }

  /**
   * The heartbeat; with {@code details} (the admin port) a failing part's {@code error} is what it
   * answered (a driver's message naming hosts and ports, the identity provider's URL), on the
   * gateway port, which anyone may ask, a fixed word.
   */
  private void heartbeat(HttpExchange ex, boolean details) {
    String dbKind = store.persistence().kind();
    String busKind = store.bus().kind();
    health
        .get()
        .whenComplete(
            (checks, e) -> {
              if (e != null) {
                ex.error(e);
                return;
              }
              IdentityVerifier.KeysCheck keys = identity.keysCheck();
              List<String> failing = new ArrayList<>();
              checks.forEach(
                  (name, problem) -> {
                    if (problem != null) {
                      failing.add(name);
                    }
                  });
              if (keys.problem() != null) {
                failing.add("identity");
              }
              HttpResponseStatus status =
                  failing.isEmpty()
                      ? HttpResponseStatus.OK
                      : HttpResponseStatus.SERVICE_UNAVAILABLE;
              ex.json(
                  status,
                  g -> {
                    g.writeStartObject();
                    g.writeStringField("status", failing.isEmpty() ? "ok" : "degraded");
                    g.writeStringField("node", nodeId);
                    writeCheck(g, "database", dbKind, shown(checks.get("database"), details));
                    writeCheck(g, "bus", busKind, shown(checks.get("bus"), details));
                    if (checks.containsKey("notifications")) {
                      writeCheck(
                          g,
                          "notifications",
                          "journal",
                          shown(checks.get("notifications"), details));
                    }
                    writeCheck(g, "identity", keys.kind(), shown(keys.problem(), details));
                    g.writeArrayFieldStart("failing");
                    for (String f : failing) {
                      g.writeString(f);
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                  });
            });
  }

  private static String shown(String problem, boolean details) {
    // A full Redis is named on both ports: a fixed text, with no host or port in it.
    if (problem == null || details || problem.equals(RedisErrors.FULL)) {
      return problem;
    }
    return "unavailable";
  }

  private static void writeCheck(
      com.fasterxml.jackson.core.JsonGenerator g, String name, String kind, String problem)
      throws IOException {
    g.writeObjectFieldStart(name);
    g.writeStringField("kind", kind);
    g.writeStringField("status", problem == null ? "ok" : "error");
    if (problem != null) {
      g.writeStringField("error", problem);
    }
    g.writeEndObject();
  }

  private void version(HttpExchange ex) {
    ex.json(
        HttpResponseStatus.OK,
        g -> {
          g.writeStartObject();
          g.writeStringField("name", "presence");
          g.writeStringField("version", build.version());
          g.writeStringField("commit", build.commit());
          g.writeBooleanField("dirty", build.dirty());
          g.writeStringField("build", build.buildTime());
          g.writeEndObject();
        });
  }

  private void metrics(HttpExchange ex) {
    ByteBuf buf = ex.channel().alloc().buffer(16 * 1024);
    try (OutputStream out = new ByteBufOutputStream(buf)) {
      exporter.write(out);
    } catch (IOException | RuntimeException e) {
      buf.release();
      ex.error(e);
      return;
    }
    ex.respond(HttpResponseStatus.OK, PrometheusExporter.CONTENT_TYPE, buf);
  }
}
