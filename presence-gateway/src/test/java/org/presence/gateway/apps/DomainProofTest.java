package org.presence.gateway.apps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.NotifyFixture.json;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DnsStub;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.TlsSite;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;

/**
 * The domain proof over real sockets, on a node whose names are resolved by a name server of the
 * test ({@code outbound.dns-servers}) and that trusts the test's HTTPS site ({@code
 * outbound.trust-file}), with plain HTTP not allowed ({@code apps.verify-over-http = false}): HTTPS
 * first, never plain HTTP there; a DNS TXT record as the alternative; a silent name server holds up
 * only its own names; failures answer one generic reason.
 */
class DomainProofTest {

  @TempDir static Path dir;
  private static DnsStub dns;
  private static TlsSite site;
  private static TestNode node;
  private static ApiClient dev;

  @BeforeAll
  static void start() {
    dns = DnsStub.start().loopback("site.test").loopback("plain.test").silent("silent.test");
    site = TlsSite.start(dir, "site.test");
    Map<String, String> s = TestNode.baseSettings(dir.resolve("node"));
    s.put("outbound.allow-loopback", "true");
    s.put("outbound.dns-servers", dns.address());
    s.put("outbound.dns-timeout", "2500ms");
    s.put("outbound.trust-file", site.certificatePem().toString());
    s.put("apps.verify-timeout", "3s");
    s.put("apps.verify-over-http", "false");
    // One developer asks for many proofs here: not what the per-developer rate limit is about.
    s.put("apps.verify-rate", "1000");
    s.put("apps.verify-burst", "1000");
    node = TestNode.start(s, r -> {});
    dev = ApiClient.forEmail(node, "dev-" + UUID.randomUUID() + "@example.com");
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    site.close();
    dns.close();
  }

  /** Registers an application for {@code domain}: its id and verification key. */
  private static JsonNode register(String domain) {
    HttpResponse<String> r =
        dev.post(
            "/api/apps", "{\"name\":\"P\",\"domain\":\"" + domain + "\",\"description\":\"t\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return json(r);
  }

  private static HttpResponse<String> verify(JsonNode app) {
    return dev.post("/api/apps/" + app.get("id").asLong() + "/verify", null);
  }

  @Test
  void httpsSiteServingTheKey_provesTheDomain() {
    JsonNode app = register("site.test:" + site.port());
    assertThat(app.get("verification_url").asText())
        .isEqualTo("https://site.test:" + site.port() + "/__presence");
    site.serveKey(app.get("verification_key").asText());
    HttpResponse<String> r = verify(app);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(json(r).get("state").asText()).isEqualTo("verified");
    assertThat(site.requests()).contains("GET /__presence Host=site.test:" + site.port());
  }

  @Test
  void plainHttpSite_doesNotProveTheDomain_whereNotConfigured() {
    try (DomainStub plain = DomainStub.start()) {
      JsonNode app = register(plain.domain());
      plain.serveKey(app.get("verification_key").asText());
      HttpResponse<String> r = verify(app);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
      assertThat(json(r).get("errno").asInt())
          .isEqualTo(ErrorCode.DOMAIN_VERIFICATION_FAILED.errno());
      assertThat(plain.requests()).as("no plain HTTP request").noneMatch(q -> q.startsWith("GET "));
    }
  }

  @Test
  void txtRecord_provesTheDomain_withoutAnyWebSite() {
    JsonNode app = register("txt-only.test");
    assertThat(app.get("verification_txt").asText()).isEqualTo("_presence.txt-only.test");
    dns.txt("_presence.txt-only.test", "v=unrelated");
    // 1024 characters: the record holds several strings, joined.
    dns.txt("_presence.txt-only.test", app.get("verification_key").asText());
    HttpResponse<String> r = verify(app);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(json(r).get("state").asText()).isEqualTo("verified");

    JsonNode wrong = register("txt-wrong.test");
    dns.txt("_presence.txt-wrong.test", "not the key");
    HttpResponse<String> refused = verify(wrong);
    assertThat(refused.statusCode()).isEqualTo(422);
    assertThat(json(refused).get("errno").asInt())
        .isEqualTo(ErrorCode.DOMAIN_VERIFICATION_FAILED.errno());
  }

  @Test
  void silentNameServer_holdsUpOnlyItsOwnNames() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> stuck = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      JsonNode app = register("d" + i + ".silent.test");
      stuck.add(CompletableFuture.supplyAsync(() -> verify(app)));
    }
    // Every silent lookup is under way before the good proof starts.
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (dns.questions().stream().filter(q -> q.contains("silent.test")).count() < 8
        && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    JsonNode good = register("site.test:" + site.port());
    site.serveKey(good.get("verification_key").asText());
    HttpResponse<String> r = verify(good);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(stuck)
        .as("the silent names' proofs are still waiting for their name server")
        .noneMatch(CompletableFuture::isDone);
    for (CompletableFuture<HttpResponse<String>> f : stuck) {
      HttpResponse<String> failed = f.get(30, TimeUnit.SECONDS);
      assertThat(failed.statusCode()).isEqualTo(422);
      assertThat(json(failed).get("errno").asInt())
          .isEqualTo(ErrorCode.DOMAIN_VERIFICATION_FAILED.errno());
    }
  }

  @Test
  void refusedWebhookUrls_tellAGenericReason() {
    JsonNode app = register("site.test:" + site.port());
    long id = app.get("id").asLong();
    HttpResponse<String> nx =
        dev.put("/api/apps/" + id + "/webhook", "{\"url\":\"https://nowhere.test/hook\"}");
    assertThat(nx.statusCode()).as(nx.body()).isEqualTo(400);
    assertThat(json(nx).get("reason").asText())
        .endsWith("webhook_url: the host cannot be resolved")
        .doesNotContain("NXDOMAIN");
    HttpResponse<String> meta =
        dev.put("/api/apps/" + id + "/webhook", "{\"url\":\"http://169.254.169.254/latest\"}");
    assertThat(json(meta).get("errno").asInt()).isEqualTo(ErrorCode.ADDRESS_NOT_ALLOWED.errno());
    assertThat(json(meta).get("reason").asText())
        .doesNotContain("169.254")
        .doesNotContain("link-local");
  }

  @Test
  void failures_tellOneGenericReason_whateverWentWrong() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    try (DomainStub notFound = DomainStub.start();
        ServerSocket mute = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
      // A refused connection, a server that answers 404, one that never answers.
      List<String> domains =
          List.of("127.0.0.1:" + closed, notFound.domain(), "127.0.0.1:" + mute.getLocalPort());
      List<String> reasons = new ArrayList<>();
      for (String d : domains) {
        HttpResponse<String> r = verify(register(d));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(json(r).get("errno").asInt())
            .isEqualTo(ErrorCode.DOMAIN_VERIFICATION_FAILED.errno());
        reasons.add(json(r).get("reason").asText().replace(d, "<domain>"));
      }
      assertThat(reasons).as("the same words for every failure").containsOnly(reasons.get(0));
      assertThat(reasons.get(0))
          .contains("https://<domain>/__presence")
          .doesNotContainIgnoringCase("refused")
          .doesNotContainIgnoringCase("timeout")
          .doesNotContain("404");
      // The portal page says the same.
      WebClient web = new WebClient(node).signIn("page-dev-" + UUID.randomUUID() + "@example.com");
      web.get("/myapps");
      HttpResponse<String> created =
          web.post("/myapps", Map.of("name", "P", "domain", domains.get(0), "description", "t"));
      assertThat(created.statusCode()).as(created.body()).isEqualTo(303);
      String appPath =
          created.headers().firstValue("Location").orElseThrow().replaceAll("\\?.*", "");
      HttpResponse<String> page = web.post(appPath + "/verify", Map.of());
      String shown = (page.statusCode() == 303 ? web.follow(page) : page).body();
      assertThat(shown)
          .contains("the key was not found at https://" + domains.get(0) + "/__presence")
          .doesNotContainIgnoringCase("refused");
    }
  }
}
