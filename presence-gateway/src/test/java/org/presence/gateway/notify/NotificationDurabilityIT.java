package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.LiveNotification;

/**
 * The ack is a guarantee on the embedded default: the shipped jar acknowledges a batch, is killed
 * at once (SIGKILL: no shutdown hook, no checkpoint, no clean close of the database file), and a
 * node started again on the same data directory delivers every acknowledged item to the user's
 * device.
 */
class NotificationDurabilityIT {
  private static final Pattern LISTENING =
      Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path dataDir;
  @TempDir Path logs;
  private final List<Process> processes = new ArrayList<>();
  private int launched;

  @AfterEach
  void killLeftovers() {
    processes.forEach(Process::destroyForcibly);
  }

  private record Node(Process process, int port) {}

  private Node start() throws Exception {
    Path jar = Path.of("target", "presence.jar");
    assertThat(jar).exists();
    int n = ++launched;
    Path out = logs.resolve("out-" + n + ".txt");
    Path err = logs.resolve("err-" + n + ".txt");
    Process p =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "serve",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--data-dir",
                dataDir.toString())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    processes.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (Path f : List.of(out, err)) {
        for (String line : Files.exists(f) ? Files.readAllLines(f) : List.<String>of()) {
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            return new Node(p, Integer.parseInt(m.group(1)));
          }
        }
      }
      if (!p.isAlive()) {
        throw new AssertionError("node exited " + p.exitValue() + ": " + Files.readString(err));
      }
      Thread.sleep(50);
    }
    throw new AssertionError("node did not start: " + Files.readString(err));
  }

  private static HttpResponse<String> call(
      int port, String method, String path, String bearer, String body) throws IOException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Authorization", "Bearer " + bearer)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    try {
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private static JsonNode ok(HttpResponse<String> r) throws IOException {
    assertThat(r.statusCode()).as(r.body()).isBetween(200, 201);
    return JSON.readTree(r.body());
  }

  @Test
  void killedAfterTheAck_thenTheNextNodeDeliversEveryAcknowledgedItem() throws Exception {
    Node first = start();
    DevIdentity keys = DevIdentity.loadOrCreate(dataDir);
    String dev = keys.mint("dev@example.com", Duration.ofHours(1), "presence");
    String user = keys.mint("marge@example.com", Duration.ofHours(1), "presence");
    List<String> acked = new ArrayList<>();
    try (DomainStub site = DomainStub.start()) {
      JsonNode app =
          ok(
              call(
                  first.port(),
                  "POST",
                  "/api/apps",
                  dev,
                  "{\"name\":\"Durable\",\"domain\":\""
                      + site.domain()
                      + "\",\"description\":\"d\"}"));
      long id = app.get("id").asLong();
      site.serveKey(app.get("verification_key").asText());
      ok(call(first.port(), "POST", "/api/apps/" + id + "/verify", dev, null));
      String key =
          ok(call(first.port(), "POST", "/api/apps/" + id + "/activate", dev, null))
              .get("api_key")
              .asText();
      String puid =
          ok(call(
                  first.port(),
                  "POST",
                  "/api/grants",
                  user,
                  "{\"app_id\":" + id + ",\"id\":\"M\"}"))
              .get("puid")
              .asText();

      HttpResponse<String> posted =
          call(
              first.port(),
              "POST",
              "/" + id + "/notification",
              key,
              "[{\"UID\":\""
                  + puid
                  + "\",\"message\":\"one\",\"action\":\"https://x.example\"},"
                  + "{\"UID\":\""
                  + puid
                  + "\",\"message\":\"two\",\"action\":\"https://x.example\"},"
                  + "{\"UID\":\""
                  + puid
                  + "\",\"message\":\"three\",\"action\":\"https://x.example\"}]");
      assertThat(posted.statusCode()).as(posted.body()).isEqualTo(200);
      // Killed the moment the ack is read: nothing after it may matter.
      first.process().destroyForcibly();
      ByteBuf body = Unpooled.copiedBuffer(posted.body(), StandardCharsets.UTF_8);
      try {
        NotificationBatchCodec.Ack ack = NotificationBatchCodec.decodeAck(body);
        assertThat(ack.result()).isEqualTo("OK");
        ack.results().forEach(r -> acked.add(r.id()));
      } finally {
        body.release();
      }
    }
    assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(first.process().exitValue()).isEqualTo(137);

    Node second = start();
    try (DeviceTestClient device =
        DeviceTestClient.open(URI.create("ws://127.0.0.1:" + second.port() + "/presence"))) {
      assertThat(device.request(new DeviceMessage.Connect(user, null, "phone")))
          .isInstanceOf(DeviceMessage.Connected.class);
      List<LiveNotification> got = device.notifications(3);
      assertThat(got).extracting(LiveNotification::id).containsExactlyElementsOf(acked);
      assertThat(got).extracting(LiveNotification::message).containsExactly("one", "two", "three");
      assertThat(got).extracting(LiveNotification::source).containsOnly("Durable");
    }
  }
}
