package org.presence.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.ApiSchemas;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.gateway.testing.WebClient;
import org.presence.gateway.testing.WsClient;

/**
 * The OpenAPI and AsyncAPI documents ({@code /api/openapi.json}, {@code /api/asyncapi.json}) kept
 * true: every route of the node's two route tables is in the OpenAPI document and nothing else is,
 * and the bodies and frames exchanged here with a real node, over real sockets, validate against
 * the documents' schemas (JSON Schema 2020-12, networknt's validator).
 */
class ApiDocumentsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN_TOKEN = "a".repeat(40);

  @TempDir static Path root;
  private static TestNode node;
  private static DomainStub site;
  private static JsonNode openApi;
  private static JsonNode asyncApi;

  @BeforeAll
  static void start() throws IOException {
    site = DomainStub.start();
    Path dir = root.resolve("node");
    Files.createDirectories(dir);
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.handshake-rate", "0");
    s.put("queries.stats-ttl", "1ms");
    // Every optional route on: the push servers' endpoint, the demo, the admin API.
    s.put("push.secret", "p".repeat(24));
    s.put("updates.demo", "true");
    s.put("admin.token", ADMIN_TOKEN);
    node = TestNode.start(s, r -> {});
    openApi = JSON.readTree(ApiDocuments.load("api/openapi.json"));
    asyncApi = JSON.readTree(ApiDocuments.load("api/asyncapi.json"));
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (site != null) {
      site.close();
    }
  }

  /** {@code /a/{id:[0-9]+}} as OpenAPI writes it: {@code /a/{id}}. */
  static String openApiPath(String pattern) {
    return pattern.replaceAll("\\{([^:}]+):[^/]*\\}", "{$1}");
  }

  private static Set<String> operations(HttpRoutes table) {
    Set<String> out = new TreeSet<>();
    for (HttpRoutes.Route r : table.routes()) {
      out.add(r.method().name().toLowerCase(Locale.ROOT) + " " + openApiPath(r.pattern()));
    }
    return out;
  }

  private static Set<String> documented(String port) {
    Set<String> out = new TreeSet<>();
    openApi
        .get("paths")
        .fields()
        .forEachRemaining(
            path -> {
              List<String> ports = new ArrayList<>();
              path.getValue().get("x-presence-ports").forEach(p -> ports.add(p.asText()));
              if (!ports.contains(port)) {
                return;
              }
              for (HttpMethod m :
                  List.of(HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE)) {
                String method = m.name().toLowerCase(Locale.ROOT);
                if (path.getValue().has(method)) {
                  out.add(method + " " + path.getKey());
                }
              }
            });
    return out;
  }

  @Test
  void everyRouteOfBothPortsIsDocumented_andNothingElse() {
    Set<String> gateway = operations(node.server().gatewayRoutes());
    Set<String> admin = operations(node.server().adminRoutes());
    assertThat(gateway).contains("get /api/openapi.json", "get /presence", "get /{appid}");
    assertThat(admin).contains("get /metrics", "get /admin/api/nodes");
    for (String port : List.of("gateway", "admin")) {
      Set<String> routes = port.equals("gateway") ? gateway : admin;
      Set<String> missing = new TreeSet<>(routes);
      missing.removeAll(documented(port));
      Set<String> extra = new TreeSet<>(documented(port));
      extra.removeAll(routes);
      assertThat(missing).as("routes of the " + port + " port missing from openapi.json").isEmpty();
      assertThat(extra).as("openapi.json operations the " + port + " port does not have").isEmpty();
    }
  }

  /** Every {@code $ref} under {@code node}, as JSON pointers into the document. */
  private static void refs(JsonNode node, List<String> out) {
    if (node.isObject()) {
      node.fields()
          .forEachRemaining(
              f -> {
                if (f.getKey().equals("$ref") && f.getValue().isTextual()) {
                  out.add(f.getValue().asText());
                } else {
                  refs(f.getValue(), out);
                }
              });
    } else if (node.isArray()) {
      node.forEach(n -> refs(n, out));
    }
  }

  @Test
  void everyReferenceResolves_andEveryPathParameterIsDeclared() {
    for (JsonNode doc : List.of(openApi, asyncApi)) {
      List<String> refs = new ArrayList<>();
      refs(doc, refs);
      assertThat(refs).isNotEmpty();
      for (String ref : refs) {
        assertThat(ref).startsWith("#/");
        assertThat(doc.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
      }
    }
    openApi
        .get("paths")
        .fields()
        .forEachRemaining(
            path -> {
              Set<String> declared = new TreeSet<>();
              path.getValue().path("parameters").forEach(p -> declared.add(p.get("name").asText()));
              Set<String> used = new TreeSet<>();
              java.util.regex.Matcher m =
                  java.util.regex.Pattern.compile("\\{([^}]+)\\}").matcher(path.getKey());
              while (m.find()) {
                used.add(m.group(1));
              }
              assertThat(declared).as(path.getKey()).isEqualTo(used);
              path.getValue()
                  .fields()
                  .forEachRemaining(
                      op -> {
                        if (op.getValue().has("responses")) {
                          assertThat(op.getValue().get("responses").size())
                              .as(op.getKey() + " " + path.getKey())
                              .isPositive();
                        }
                      });
            });
  }

  @Test
  void documentsAreServedAsTheyAreInTheJar() throws IOException {
    HttpResponse<String> o = node.get(ApiDocuments.OPENAPI);
    assertThat(o.statusCode()).isEqualTo(200);
    assertThat(o.headers().firstValue("Content-Type")).hasValueSatisfying(t -> t.contains("json"));
    assertThat(JSON.readTree(o.body())).isEqualTo(openApi);
    assertThat(openApi.get("openapi").asText()).isEqualTo("3.1.0");
    HttpResponse<String> a = node.get(ApiDocuments.ASYNCAPI);
    assertThat(a.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(a.body())).isEqualTo(asyncApi);
    assertThat(asyncApi.get("asyncapi").asText()).isEqualTo("3.0.0");
    // Every message a channel names exists, with a payload schema.
    asyncApi
        .get("channels")
        .forEach(
            ch ->
                ch.get("messages")
                    .forEach(
                        m -> {
                          String name =
                              m.get("$ref").asText().replace("#/components/messages/", "");
                          assertThat(
                                  asyncApi
                                      .at("/components/messages/" + name + "/payload")
                                      .isObject())
                              .as(name)
                              .isTrue();
                        }));
  }

  private static Schema response(String method, String path, int status) {
    return ApiSchemas.response(method, path, status);
  }

  private static Schema message(String name) {
    return ApiSchemas.message(name);
  }

  private static void assertValid(Schema schema, JsonNode body) {
    ApiSchemas.assertValid(schema, body, "");
  }

  private static void assertAnswer(String method, String path, HttpResponse<String> r) {
    ApiSchemas.assertAnswer(method, path, r);
  }

  @Test
  void theValidatorRefusesWhatTheSchemasDoNotAllow() throws IOException {
    Schema presence = response("get", "/{appid}/presence/{puid}", 200);
    assertThat(presence.validate(JSON.readTree("{\"puid\":\"x\",\"status\":\"busy\"}")))
        .isNotEmpty();
    assertThat(
            presence.validate(
                JSON.readTree(
                    "{\"puid\":\"" + "A".repeat(43) + "\",\"status\":\"offline\",\"version\":3}")))
        .as("offline users have no version")
        .isNotEmpty();
    assertThat(message("updates").validate(JSON.readTree("[{\"UID\":\"x\"}]"))).isNotEmpty();
  }

  private static HttpResponse<String> get(String path, String bearer) {
    return TestNode.send(
        HttpRequest.newBuilder(node.uri(path))
            .header("Authorization", "Bearer " + bearer)
            .GET()
            .build());
  }

  private static HttpResponse<String> admin(String method, String path) {
    return TestNode.send(
        HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.adminPort() + path))
            .header("Authorization", "Bearer " + ADMIN_TOKEN)
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build());
  }

  private static String email(String who) {
    return who + "-" + UUID.randomUUID() + "@example.com";
  }

  @Test
  void httpAnswersMatchTheOpenApiDocument() throws Exception {
    assertAnswer("get", "/__lbheartbeat__", node.get("/__lbheartbeat__"));
    assertAnswer("get", "/__heartbeat__", node.get("/__heartbeat__"));
    assertAnswer("get", "/__version__", node.get("/__version__"));
    assertAnswer("get", "/.well-known/jwks.json", node.get("/.well-known/jwks.json"));
    HttpResponse<String> pairing =
        NotifyFixture.post(
            node,
            "/oauth/device_authorization",
            null,
            "application/x-www-form-urlencoded",
            "client_id=presence-device");
    assertThat(pairing.statusCode()).as(pairing.body()).isEqualTo(200);
    assertAnswer("post", "/oauth/device_authorization", pairing);
    HttpResponse<String> pending =
        NotifyFixture.post(
            node,
            "/oauth/token",
            null,
            "application/x-www-form-urlencoded",
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=presence-device&device_code="
                + JSON.readTree(pairing.body()).get("device_code").asText());
    assertThat(pending.statusCode()).as(pending.body()).isEqualTo(400);
    assertAnswer("post", "/oauth/token", pending);

    App app = NotifyFixture.activeApp(node, site, email("dev"), "Documented");
    String ann = email("ann");
    String puid = NotifyFixture.grant(node, ann, app.id());
    String one = "/" + app.id() + "/presence/" + puid;
    assertAnswer("get", "/{appid}/presence/{puid}", get(one, app.key()));
    try (WsClient device = WsClient.connect(node.wsUri("/presence"))) {
      device.send(
          "{\"type\":\"connect\",\"assertion\":\"" + node.token(ann) + "\",\"device\":\"d1\"}");
      JsonNode connected = JSON.readTree(device.next(Duration.ofSeconds(10)));
      String session = connected.get("session_id").asText();
      device.send(
          "{\"type\":\"status\",\"session_id\":\""
              + session
              + "\",\"status\":\"away\",\"message\":\"lunch\"}");
      assertThat(JSON.readTree(device.next(Duration.ofSeconds(10))).get("result").asBoolean())
          .isTrue();
      HttpResponse<String> away = get(one, app.key());
      assertThat(away.body()).contains("\"away\"");
      assertAnswer("get", "/{appid}/presence/{puid}", away);
      HttpResponse<String> many =
          NotifyFixture.post(
              node,
              "/" + app.id() + "/presence",
              app.key(),
              "application/json",
              "{\"puids\":[\"" + puid + "\",\"" + "B".repeat(43) + "\"]}");
      assertThat(many.statusCode()).as(many.body()).isEqualTo(200);
      assertAnswer("post", "/{appid}/presence", many);
      assertAnswer(
          "get", "/{appid}/presence/stats", get("/" + app.id() + "/presence/stats", app.key()));
    }

    HttpResponse<String> refused = get(one, "wrong-key");
    assertThat(refused.statusCode()).isEqualTo(401);
    assertAnswer("get", "/{appid}/presence/{puid}", refused);
    HttpResponse<String> unknown = get("/999999/presence/stats", app.key());
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertAnswer("get", "/{appid}/presence/stats", unknown);

    assertAnswer("get", "/admin/api/health", admin("GET", "/admin/api/health"));
    assertAnswer("get", "/admin/api/nodes", admin("GET", "/admin/api/nodes"));
    assertAnswer("get", "/admin/api/apps/{id}", admin("GET", "/admin/api/apps/" + app.id()));
    HttpResponse<String> rekey = admin("POST", "/admin/api/apps/" + app.id() + "/key");
    assertThat(rekey.statusCode()).as(rekey.body()).isEqualTo(200);
    assertAnswer("post", "/admin/api/apps/{id}/key", rekey);
    assertAnswer(
        "post",
        "/admin/api/users/{sub}/disconnect",
        admin("POST", "/admin/api/users/" + NotifyFixture.sub(ann) + "/disconnect"));
  }

  /** Fails unless the OpenAPI document lists {@code status} among the answers of the operation. */
  private static void assertStatusDocumented(String method, String path, HttpResponse<String> r) {
    assertThat(
            openApi
                .path("paths")
                .path(path)
                .path(method)
                .path("responses")
                .has(String.valueOf(r.statusCode())))
        .as(method + " " + path + " answered " + r.statusCode() + ", which is not documented")
        .isTrue();
  }

  @Test
  void everyStatusOfTheGrantAndThePagesIsDocumented() {
    App app = NotifyFixture.activeApp(node, site, email("dev"), "Statuses");
    HttpResponse<String> granted =
        ApiClient.forEmail(node, email("ann"))
            .post("/api/grants", "{\"app_id\":" + app.id() + ",\"id\":\"ann\"}");
    assertThat(granted.statusCode()).as(granted.body()).isEqualTo(200);
    assertAnswer("post", "/api/grants", granted);
    assertThat(openApi.path("paths").path("/api/grants").path("post").path("responses").has("201"))
        .as("a grant is answered 200, new or not")
        .isFalse();

    String consent =
        "/" + app.id() + "/grant?redirect=http%3A%2F%2F" + site.domain() + "%2Fcb&id=ann";
    WebClient signedOut = new WebClient(node);
    Map<String, String> pages =
        Map.of(
            "/myapps", "/myapps",
            "/settings", "/settings",
            "/pair", "/pair",
            "/myapps/{id}", "/myapps/" + app.id(),
            "/{appid}/grant", consent);
    pages.forEach(
        (path, uri) -> {
          HttpResponse<String> r = signedOut.get(uri);
          assertThat(r.statusCode()).as(uri).isEqualTo(303);
          assertThat(r.headers().firstValue("Location").orElseThrow()).contains("/signin?next=");
          assertStatusDocumented("get", path, r);
        });

    WebClient signedIn = new WebClient(node).signIn(email("bea"));
    HttpResponse<String> noApp = signedIn.get("/myapps/999999");
    assertThat(noApp.statusCode()).isEqualTo(404);
    assertStatusDocumented("get", "/myapps/{id}", noApp);
    HttpResponse<String> noGrant = signedIn.get("/999999/grant?redirect=http%3A%2F%2Fx%2F&id=a");
    assertThat(noGrant.statusCode()).isEqualTo(404);
    assertStatusDocumented("get", "/{appid}/grant", noGrant);
  }

  /** The first non-empty line of the application's stream (at most 10 s), then hangs up. */
  private static JsonNode firstStreamLine(App app) throws Exception {
    HttpResponse<java.util.stream.Stream<String>> r =
        java.net.http.HttpClient.newHttpClient()
            .sendAsync(
                HttpRequest.newBuilder(node.uri("/" + app.id() + "/presence.json"))
                    .header("Authorization", "Bearer " + app.key())
                    .build(),
                HttpResponse.BodyHandlers.ofLines())
            .get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("application/x-ndjson"));
    try (java.util.stream.Stream<String> lines = r.body()) {
      String first =
          java.util.concurrent.CompletableFuture.supplyAsync(
                  () -> lines.filter(l -> !l.isEmpty()).findFirst().orElseThrow())
              .get(10, java.util.concurrent.TimeUnit.SECONDS);
      return JSON.readTree(first);
    }
  }

  @Test
  void framesMatchTheAsyncApiDocument() throws Exception {
    App app = NotifyFixture.activeApp(node, site, email("dev"), "Framed");
    String bob = email("bob");
    String puid = NotifyFixture.grant(node, bob, app.id());
    try (WsClient device = WsClient.connect(node.wsUri("/presence"));
        UpdateClient updates = UpdateClient.open(node, app.id())) {
      JsonNode connect =
          JSON.readTree(
              "{\"type\":\"connect\",\"assertion\":\""
                  + node.token(bob)
                  + "\",\"application_ids\":["
                  + app.id()
                  + "],\"device\":\"phone-1\"}");
      assertValid(message("connect"), connect);
      device.send(connect.toString());
      JsonNode connected = JSON.readTree(device.next(Duration.ofSeconds(10)));
      assertValid(message("connected"), connected);
      String session = connected.get("session_id").asText();

      // A refresh with a new token of the same user, and its answer.
      JsonNode refresh =
          JSON.readTree("{\"type\":\"refresh\",\"assertion\":\"" + node.token(bob) + "\"}");
      assertValid(message("refresh"), refresh);
      device.send(refresh.toString());
      assertValid(message("refreshed"), JSON.readTree(device.next(Duration.ofSeconds(10))));

      // The update channel: the key, its answer, the snapshot (bob is offline: empty).
      JsonNode key = JSON.readTree("{\"key\":\"" + app.key() + "\"}");
      assertValid(message("key"), key);
      updates.sendText(key.toString());
      assertValid(message("ok"), updates.next());
      JsonNode snapshot = updates.next();
      assertValid(message("snapshot"), snapshot);

      JsonNode status =
          JSON.readTree(
              "{\"type\":\"status\",\"session_id\":\""
                  + session
                  + "\",\"status\":\"online\",\"message\":\"at my desk\"}");
      assertValid(message("status"), status);
      device.send(status.toString());
      assertValid(message("ok"), JSON.readTree(device.next(Duration.ofSeconds(10))));
      JsonNode update = updates.next();
      assertThat(update.isArray()).as(update.toString()).isTrue();
      assertValid(message("updates"), update);

      // The stream: its first line is a snapshot showing bob online.
      JsonNode line = firstStreamLine(app);
      assertValid(message("snapshot"), line);
      assertThat(line.get("snapshot").size()).as(line.toString()).isEqualTo(1);

      // A live notification: the application's acknowledgement, the device's frame, its ack.
      HttpResponse<String> sent =
          NotifyFixture.post(
              node, app.id(), app.key(), NotifyFixture.batch(NotifyFixture.item(puid, "hello")));
      assertThat(sent.statusCode()).as(sent.body()).isEqualTo(200);
      assertAnswer("post", "/{appid}/notification", sent);
      JsonNode notifications = JSON.readTree(device.next(Duration.ofSeconds(10)));
      assertValid(message("notifications"), notifications);
      JsonNode ack =
          JSON.readTree(
              "{\"type\":\"acknowledge\",\"session_id\":\""
                  + session
                  + "\",\"ids\":[\""
                  + notifications.at("/notifications/0/id").asText()
                  + "\"]}");
      assertValid(message("ackOrDismiss"), ack);
      device.send(ack.toString());
      assertValid(message("ok"), JSON.readTree(device.next(Duration.ofSeconds(10))));

      // The user changes their settings: the answer, and the device's settings frame.
      HttpResponse<String> settings =
          ApiClient.forEmail(node, bob).put("/api/settings", "{\"away_message\":\"back soon\"}");
      assertThat(settings.statusCode()).as(settings.body()).isEqualTo(200);
      assertAnswer("put", "/api/settings", settings);
      JsonNode settingsFrame = JSON.readTree(device.next(Duration.ofSeconds(10)));
      assertThat(settingsFrame.has("settings")).as(settingsFrame.toString()).isTrue();
      assertValid(message("settings"), settingsFrame);

      // A frame the node refuses: an error frame, as documented.
      device.send("{\"type\":\"status\",\"session_id\":\"" + session + "\",\"status\":\"busy\"}");
      JsonNode error = JSON.readTree(device.next(Duration.ofSeconds(10)));
      assertThat(error.get("result").asBoolean()).isFalse();
      assertValid(message("error"), error);
    }
  }
}
