package org.presence.loadtest.floor;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;
import org.presence.loadtest.transport.WsConnection;

class FloorServerTest {
  @RegisterExtension
  final FloorFixture fixture =
      new FloorFixture(SourceAddresses.parse("127.0.0.2-127.0.0.3"), transport());

  /** The transport of the floor's and the test's sockets. */
  Transport transport() {
    return Transport.best();
  }

  @Test
  void relay_copiesPublisherFramesToEverySubscriberOfItsChannelOnly() throws Exception {
    List<String> a = new CopyOnWriteArrayList<>();
    List<String> b = new CopyOnWriteArrayList<>();
    List<String> other = new CopyOnWriteArrayList<>();
    List<String> closes = new CopyOnWriteArrayList<>();
    WsConnection subA = fixture.open("/relay/1/sub", a, closes);
    WsConnection subB = fixture.open("/relay/1/sub", b, closes);
    WsConnection subOther = fixture.open("/relay/2/sub", other, closes);
    WsConnection pub = fixture.open("/relay/1/pub", new CopyOnWriteArrayList<>(), closes);
    pub.send("{\"type\":\"status\",\"message\":\"lt:1\"}").sync();
    pub.send("{\"type\":\"status\",\"message\":\"lt:2\"}").sync();
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> a.size() == 2 && b.size() == 2);
    assertThat(a)
        .containsExactly(
            "{\"type\":\"status\",\"message\":\"lt:1\"}",
            "{\"type\":\"status\",\"message\":\"lt:2\"}");
    assertThat(other).isEmpty();
    // The floor counts a relayed frame once its writes to the subscribers are under way, so a
    // subscriber can hold the frame before the floor's thread has counted it: wait for the count.
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(fixture.floor().connections()).isEqualTo(4);
              assertThat(fixture.floor().state().framesIn()).isEqualTo(2);
              assertThat(fixture.floor().state().framesOut()).isEqualTo(4);
            });
    pub.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    subA.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    subB.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    subOther.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> closes.size() == 4);
    assertThat(closes).allMatch(c -> c.startsWith("true"));
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> fixture.floor().connections() == 0);
  }

  @Test
  void acknowledgingPublisher_getsOneAckPerFrame_andItsFramesAreRelayed() throws Exception {
    List<String> sub = new CopyOnWriteArrayList<>();
    List<String> acks = new CopyOnWriteArrayList<>();
    List<String> closes = new CopyOnWriteArrayList<>();
    fixture.open("/relay/7/sub", sub, closes);
    WsConnection pub = fixture.open("/relay/7/pub-ack", acks, closes);
    for (int i = 0; i < 3; i++) {
      pub.send("{\"type\":\"status\",\"message\":\"lt:" + i + "\"}");
    }
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> sub.size() == 3 && acks.size() == 3);
    assertThat(acks).containsOnly("{\"result\":true}");
    assertThat(sub).hasSize(3).allMatch(f -> f.startsWith("{\"type\":\"status\""));
    // A plain publisher's frames still go unanswered.
    List<String> none = new CopyOnWriteArrayList<>();
    WsConnection plain = fixture.open("/relay/7/pub", none, closes);
    plain.send("{\"type\":\"status\"}").sync();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> sub.size() == 4);
    assertThat(none).isEmpty();
    assertThat(acks).hasSize(3);
  }

  @Test
  void hold_keepsTheSocket_andServerCloseIsSeenAsTheServers() throws Exception {
    List<String> closes = new CopyOnWriteArrayList<>();
    WsConnection c = fixture.open("/hold", new CopyOnWriteArrayList<>(), closes);
    assertThat(c.isOpen()).isTrue();
    c.send("dropped").sync();
    fixture.floor().close();
    c.closed().toCompletableFuture().get(5, TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !closes.isEmpty());
    assertThat(closes).singleElement().asString().startsWith("false");
  }

  @Test
  void stats_reportConnectionsAndMemory_andUnknownPathsAre404() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + fixture.floor().port() + "/__floor__/stats?gc=1"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .contains("\"connections\":0")
        .contains("\"after_full_gc\":true")
        .contains("\"heap_used\":");
    HttpResponse<String> missing =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + fixture.floor().port() + "/nope"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(
            fixture
                .connector()
                .connect(
                    fixture.ws("/relay/x/other"),
                    fixture.loop(),
                    FloorFixture.collect(
                        new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>()))
                .toCompletableFuture()
                .handle((c, e) -> e)
                .get(5, TimeUnit.SECONDS))
        .isNotNull();
  }
}
