package org.presence.gateway.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.cli.PresenceCli;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;

/**
 * The demo on the embedded default, at the HTTP level: the demo application exists on the node's
 * own address; a visitor signs in, grants it on the real consent page, and follows their own
 * presence on {@code /demo/events} while {@code presence device} types statuses; another user's
 * changes never show. (The page's script is exercised in a browser by {@code DemoBrowserIT}.)
 */
class DemoTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GRANT =
      Pattern.compile("href=\"(/\\d+/grant\\?[^\"]+)\" id=\"demo-grant\"");

  @TempDir Path dataDir;
  TestNode node;

  @BeforeEach
  void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("device.offline-grace", "200ms");
    node = TestNode.start(s, r -> {});
  }

  @AfterEach
  void stop() {
    node.close();
  }

  /** Signs {@code email} in and grants the demo application through the consent page. */
  private WebClient granted(String email) {
    WebClient web = new WebClient(node).signIn(email);
    HttpResponse<String> page = web.get("/demo");
    assertThat(page.statusCode()).isEqualTo(200);
    Matcher m = GRANT.matcher(page.body());
    assertThat(m.find()).as(page.body()).isTrue();
    String grantPath = m.group(1).replace("&amp;", "&").replace("&#x3D;", "=");
    HttpResponse<String> consent = web.get(grantPath);
    assertThat(consent.statusCode()).as(consent.body()).isEqualTo(200);
    assertThat(consent.body()).contains(DemoApp.NAME);
    // The demo application names the visitor as an application would, not by their email.
    String section = consent.body().substring(consent.body().indexOf("<section class=\"consent\""));
    assertThat(section.substring(0, section.indexOf("</section>")))
        .contains("<strong id=\"consent-user\">" + DemoApp.USER_STRING + "</strong>")
        .contains("<bdi>" + DemoApp.NAME + "</bdi> never learns your email address")
        .doesNotContain(email);
    String query = grantPath.substring(grantPath.indexOf('?') + 1);
    Map<String, String> form = new java.util.HashMap<>();
    for (String kv : query.split("&")) {
      String[] p = kv.split("=", 2);
      form.put(
          URLDecoder.decode(p[0], StandardCharsets.UTF_8),
          URLDecoder.decode(p[1], StandardCharsets.UTF_8));
    }
    HttpResponse<String> allowed =
        web.post(
            grantPath.substring(0, grantPath.indexOf('?')),
            Map.of("redirect", form.get("redirect"), "id", form.get("id"), "answer", "allow"));
    assertThat(allowed.statusCode()).isEqualTo(303);
    assertThat(allowed.headers().firstValue("Location").orElseThrow())
        .startsWith(node.server().baseUrl() + "/demo?puid=");
    return web;
  }

  private CompletableFuture<String> device(String email, String input) {
    return CompletableFuture.supplyAsync(
        () -> {
          StringWriter out = new StringWriter();
          StringWriter err = new StringWriter();
          InputStream in = new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8));
          int code =
              PresenceCli.run(
                  new String[] {
                    "device",
                    "--email",
                    email,
                    "--url",
                    node.server().baseUrl(),
                    "--data-dir",
                    dataDir.toString()
                  },
                  Map.of(),
                  in,
                  new PrintWriter(out, true),
                  new PrintWriter(err, true));
          return code + "\n" + out + "\n" + err;
        });
  }

  private static JsonNode nextEvent(BufferedReader lines) throws Exception {
    String l;
    while ((l = lines.readLine()) != null) {
      if (l.startsWith("data: ")) {
        return JSON.readTree(l.substring(6));
      }
    }
    throw new AssertionError("event stream ended");
  }

  @Test
  void demoApp_isActiveOnTheNodesOwnAddress_andOwnedByNobodyWhoCanSignIn() throws Exception {
    long id = node.server().config().updates().demo() ? demoId() : -1;
    var app =
        node.server()
            .store()
            .persistence()
            .apps()
            .find(id)
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS)
            .orElseThrow();
    assertThat(app.active()).isTrue();
    assertThat(app.domain()).isEqualTo("127.0.0.1:" + node.port());
    assertThat(app.ownerSub()).isEqualTo(DemoApp.OWNER).doesNotStartWith("dev:");
  }

  private long demoId() throws Exception {
    return node.server()
        .store()
        .persistence()
        .apps()
        .listByOwner(DemoApp.OWNER)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS)
        .get(0)
        .id();
  }

  @Test
  void page_leadsFromSignInToGrantToTheLiveView_withAScriptFromThisNodeOnly() {
    HttpResponse<String> anonymous = node.get("/demo");
    assertThat(anonymous.statusCode()).isEqualTo(200);
    assertThat(anonymous.body()).contains("id=\"demo-sign-in\"").doesNotContain("<script");
    WebClient web = granted("alice@example.com");
    HttpResponse<String> live = web.get("/demo");
    assertThat(live.body())
        .contains("id=\"demo-puid\"")
        .contains("<script src=\"/static/demo.js\"></script>")
        // Without JavaScript the live view says so, rather than "connecting…" for ever (L10);
        // the script writes "connecting…" when it starts.
        .contains("<span id=\"presence-status\">–</span>")
        .contains("<noscript><p class=\"error\" id=\"demo-noscript\">")
        .contains(
            "bin/presence device --email alice@example.com --url "
                + node.server().baseUrl()
                + " --data-dir "
                + dataDir.toAbsolutePath().normalize());
    String csp = live.headers().firstValue("Content-Security-Policy").orElseThrow();
    assertThat(csp)
        .contains("script-src 'self'")
        .contains("connect-src 'self'")
        .contains("default-src 'none'")
        .doesNotContain("unsafe-inline");
    HttpResponse<String> js = node.get("/static/demo.js");
    assertThat(js.statusCode()).isEqualTo(200);
    assertThat(js.body())
        .contains("EventSource('/demo/events')")
        .contains("status.textContent = 'connecting…'")
        .doesNotContain("innerHTML");
  }

  @Test
  void events_showTheVisitorsOwnPresenceLive_asTheDeviceCommandTypesIt_andNobodyElses()
      throws Exception {
    WebClient alice = granted("alice@example.com");
    granted("bob@example.com");
    HttpResponse<InputStream> events = alice.stream("/demo/events");
    assertThat(events.statusCode()).isEqualTo(200);
    assertThat(events.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("text/event-stream");
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(events.body(), StandardCharsets.UTF_8))) {
      JsonNode snapshot = nextEvent(lines);
      assertThat(snapshot.path("done").asBoolean()).isTrue();
      assertThat(snapshot.path("snapshot")).isEmpty();
      String bob = device("bob@example.com", "online from bob\n").get(30, TimeUnit.SECONDS);
      assertThat(bob).startsWith("0\n").contains("connected").contains("ok");
      String out =
          device("alice@example.com", "online hello there\naway lunch\nbogus\nquit\n")
              .get(30, TimeUnit.SECONDS);
      assertThat(out)
          .startsWith("0\n")
          .contains("connected")
          .contains("ok")
          .contains("not a status: bogus");
      java.util.List<JsonNode> items = new java.util.ArrayList<>();
      while (items.size() < 3) {
        nextEvent(lines).forEach(items::add);
      }
      assertThat(items.get(0).path("status").asText()).isEqualTo("online");
      assertThat(items.get(0).path("message").asText()).isEqualTo("hello there");
      assertThat(items.get(1).path("status").asText()).isEqualTo("away");
      // The device disconnected: offline after the grace period.
      assertThat(items.get(2).path("status").asText()).isEqualTo("offline");
      String puid = items.get(0).path("UID").asText();
      assertThat(items).extracting(n -> n.path("UID").asText()).containsOnly(puid);
    }
  }

  @Test
  void events_perUser_areCapped_andAClosedStreamFreesItsPlace() throws Exception {
    WebClient alice = granted("alice@example.com");
    java.util.List<InputStream> open = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < DemoPages.MAX_STREAMS_PER_USER; i++) {
        HttpResponse<InputStream> events = alice.stream("/demo/events");
        assertThat(events.statusCode()).isEqualTo(200);
        open.add(events.body());
      }
      HttpResponse<String> refused = alice.get("/demo/events");
      assertThat(refused.statusCode()).isEqualTo(429);
      assertThat(refused.body()).contains("\"errno\":106");
      // Another user is not affected.
      HttpResponse<InputStream> bob = granted("bob@example.com").stream("/demo/events");
      assertThat(bob.statusCode()).isEqualTo(200);
      open.add(bob.body());
      open.remove(0).close();
      int status = 0;
      for (int i = 0; i < 50 && status != 200; i++) {
        Thread.sleep(100);
        HttpResponse<InputStream> again = alice.stream("/demo/events");
        status = again.statusCode();
        open.add(again.body());
      }
      assertThat(status).isEqualTo(200);
    } finally {
      for (InputStream in : open) {
        in.close();
      }
    }
  }

  @Test
  void events_withoutASessionOrAGrant_areRefused() {
    assertThat(node.get("/demo/events").statusCode()).isEqualTo(401);
    WebClient carol = new WebClient(node).signIn("carol@example.com");
    HttpResponse<String> r = carol.get("/demo/events");
    assertThat(r.statusCode()).isEqualTo(404);
  }

  @Test
  void deviceCommand_withoutEmailOrToken_pairs_andStopsWhenTheUserDenies() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CompletableFuture<Integer> cli =
        CompletableFuture.supplyAsync(
            () ->
                PresenceCli.run(
                    new String[] {
                      "device",
                      "--data-dir",
                      dataDir.resolve("denied-device").toString(),
                      "--url",
                      node.server().baseUrl()
                    },
                    Map.of(),
                    InputStream.nullInputStream(),
                    new PrintWriter(out, true),
                    new PrintWriter(err, true)));
    java.util.regex.Pattern code = java.util.regex.Pattern.compile("enter the code (\\S+)");
    java.util.regex.Matcher m = code.matcher("");
    for (int i = 0; i < 200 && !m.find(); i++) {
      Thread.sleep(50);
      m = code.matcher(out.toString());
    }
    assertThat(out.toString()).contains(node.server().baseUrl() + "/pair");
    WebClient web = new WebClient(node).signIn("dana@example.com");
    web.get("/pair");
    assertThat(web.post("/pair", Map.of("code", m.group(1), "action", "deny")).statusCode())
        .isEqualTo(303);
    assertThat(cli.get(60, TimeUnit.SECONDS)).isEqualTo(PresenceCli.EXIT_STARTUP);
    assertThat(err.toString()).contains("access_denied");
  }

  /** The device command as the demo page shows it, as arguments for {@link PresenceCli}. */
  private String[] deviceCommandOnThePage(WebClient web) {
    Matcher m =
        Pattern.compile("<pre id=\"demo-device-command\">([^<]+)</pre>")
            .matcher(web.get("/demo").body());
    assertThat(m.find()).isTrue();
    String[] words = m.group(1).split(" ");
    assertThat(words[0]).isEqualTo("bin/presence");
    // As is: the page names this node's address (not the default port) and data directory.
    return java.util.Arrays.copyOfRange(words, 1, words.length);
  }

  @Test
  void deviceCommand_namesTheNodesUrl_onlyWhenNotTheDefault() {
    assertThat(DemoPages.urlOption("http://127.0.0.1:8080")).isEmpty();
    assertThat(DemoPages.urlOption("http://127.0.0.1:18680"))
        .isEqualTo(" --url http://127.0.0.1:18680");
    assertThat(DemoPages.urlOption("https://presence.example.com"))
        .isEqualTo(" --url https://presence.example.com");
  }

  @Test
  void deviceCommand_namesTheDataDir_onlyWhenNotTheDefault_quotedForTheShell() {
    assertThat(DemoPages.dataDirOption(Path.of("presence-data"))).isEmpty();
    assertThat(DemoPages.dataDirOption(Path.of("presence-data").toAbsolutePath())).isEmpty();
    assertThat(DemoPages.dataDirOption(Path.of("/srv/presence")))
        .isEqualTo(" --data-dir /srv/presence");
    assertThat(DemoPages.dataDirOption(Path.of("/srv/it's mine")))
        .isEqualTo(" --data-dir '/srv/it'\\''s mine'");
  }

  @Test
  void notifyMe_sendsTheVisitorALiveNotification_whichTheDeviceCommandPrintsAndAnswers()
      throws Exception {
    WebClient alice = granted("alice@example.com");
    HttpResponse<InputStream> events = alice.stream("/demo/events");
    assertThat(events.statusCode()).isEqualTo(200);
    BufferedReader lines =
        new BufferedReader(new InputStreamReader(events.body(), StandardCharsets.UTF_8));
    nextEvent(lines);
    PipedOutputStream typed = new PipedOutputStream();
    PipedInputStream in = new PipedInputStream(typed);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // The command exactly as the page shows it (this node's port and data dir are not default).
    String[] command = deviceCommandOnThePage(alice);
    CompletableFuture<Integer> cli =
        CompletableFuture.supplyAsync(
            () ->
                PresenceCli.run(
                    command, Map.of(), in, new PrintWriter(out, true), new PrintWriter(err, true)));
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> out.toString().contains("connected to") || cli.isDone());
    assertThat(out.toString()).as(out + "\n" + err).contains("connected to");
    // A device that shows the application no presence gets its notifications without telling it
    // (no delivered receipt): the visitor's device says it is online first.
    typed.write("online\n".getBytes(StandardCharsets.UTF_8));
    typed.flush();
    await().atMost(Duration.ofSeconds(15)).until(() -> out.toString().contains("\nok"));

    HttpResponse<String> page = alice.get("/demo");
    assertThat(page.body()).contains("id=\"demo-notify\"").doesNotContain("Sent to your");
    assertThat(alice.post("/demo/notify", Map.of("csrf", "forged")).statusCode())
        .as("a forged form is refused")
        .isEqualTo(403);
    alice.get("/demo");
    HttpResponse<String> sent = alice.post("/demo/notify", Map.of());
    assertThat(sent.statusCode()).as(sent.body()).isEqualTo(303);
    assertThat(sent.headers().firstValue("Location").orElseThrow()).endsWith("/demo?sent=device");
    assertThat(alice.get("/demo?sent=device").body())
        .contains("Sent to your connected device: it prints the notification now.");

    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () ->
                out.toString()
                    .contains("notification from " + DemoApp.NAME + ": " + DemoPages.DEMO_MESSAGE));
    Matcher id = Pattern.compile("\\(id ([A-Za-z0-9._:-]+)\\)").matcher(out.toString());
    assertThat(id.find()).as(out.toString()).isTrue();
    int answers = out.toString().split("\nok", -1).length;
    typed.write(("ack " + id.group(1) + "\n").getBytes(StandardCharsets.UTF_8));
    typed.flush();
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> out.toString().split("\nok", -1).length > answers);
    typed.close();
    assertThat(cli.get(30, TimeUnit.SECONDS)).as(out + "\n" + err).isZero();
    assertThat(err.toString()).doesNotContain("error").doesNotContain("bad signature");

    // Its receipts come on the page's live stream: delivered, then acted.
    // (Read off this thread, so that a stream without them fails in time rather than hangs.)
    java.util.List<String> states = new java.util.concurrent.CopyOnWriteArrayList<>();
    CompletableFuture<Void> read =
        CompletableFuture.runAsync(
            () -> {
              try {
                for (int i = 0; i < 20 && !states.contains("acted"); i++) {
                  for (JsonNode r : nextEvent(lines).path("receipts")) {
                    if (r.path("id").asText().equals(id.group(1))) {
                      states.add(r.path("state").asText());
                    }
                  }
                }
              } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
              }
            });
    try {
      await().atMost(Duration.ofSeconds(15)).until(() -> states.contains("acted") || read.isDone());
      assertThat(states).containsExactly("delivered", "acted");
    } finally {
      events.body().close();
    }
  }

  @Test
  void notifyMe_withNoDeviceConnected_saysItIsQueued_andAnswersThePagesScriptInJson() {
    WebClient alice = granted("alice@example.com");
    alice.get("/demo");
    HttpResponse<String> json = alice.postAccepting("/demo/notify", Map.of(), "application/json");
    assertThat(json.statusCode()).as(json.body()).isEqualTo(200);
    assertThat(json.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("application/json");
    assertThat(json.body())
        .contains("\"devices\":0")
        .contains("Queued: no device of yours is connected")
        .containsPattern("\"id\":\"[^\"]+\"");
    HttpResponse<String> forged =
        alice.postAccepting("/demo/notify", Map.of("csrf", "forged"), "application/json");
    assertThat(forged.statusCode()).isEqualTo(403);
    assertThat(forged.body()).startsWith("{").contains("\"errno\"");
    HttpResponse<String> sent = alice.post("/demo/notify", Map.of());
    assertThat(sent.headers().firstValue("Location").orElseThrow()).endsWith("/demo?sent=queued");
    assertThat(alice.get("/demo?sent=queued").body())
        .contains("Queued: no device of yours is connected");
  }

  @Test
  void homePage_linksToTheDemo() {
    assertThat(node.get("/").body()).contains("<a href=\"/demo\" id=\"home-demo\">");
  }

  @Test
  void notifyMe_beforeSignInOrGrant_isRefused() {
    HttpResponse<String> anonymous =
        TestNode.send(
            java.net.http.HttpRequest.newBuilder(node.uri("/demo/notify"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("csrf=x"))
                .build());
    assertThat(anonymous.statusCode()).isIn(303, 401, 403);
    WebClient bob = new WebClient(node).signIn("bob@example.com");
    bob.get("/demo");
    HttpResponse<String> ungranted = bob.post("/demo/notify", Map.of());
    assertThat(ungranted.statusCode()).as(ungranted.body()).isEqualTo(404);
  }
}
