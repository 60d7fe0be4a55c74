package org.presence.loadtest.floor;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;
import org.presence.loadtest.transport.WsConnection;
import org.presence.loadtest.transport.WsConnector;

class FloorServerTest {
  private FloorServer floor;
  private EventLoopGroup loops;
  private WsConnector connector;

  @BeforeEach
  void start() throws Exception {
    floor = FloorServer.start("127.0.0.1", 0, 1);
    loops = Transport.best().group(1, "test-io");
    connector =
        new WsConnector(
            Transport.best(), SourceAddresses.parse("127.0.0.2-127.0.0.3"), Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() {
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    floor.close();
  }

  private URI ws(String path) {
    return URI.create("ws://127.0.0.1:" + floor.port() + path);
  }

  private static WsConnector.Listener collect(List<String> frames, List<String> closes) {
    return new WsConnector.Listener() {
      @Override
      public void onText(ByteBuf utf8) {
        frames.add(utf8.toString(StandardCharsets.UTF_8));
      }

      @Override
      public void onClosed(boolean byUs, int closeCode, String reason) {
        closes.add(byUs + " " + closeCode);
      }
    };
  }

  @Test
  void relay_copiesPublisherFramesToEverySubscriberOfItsChannelOnly() throws Exception {
    List<String> a = new CopyOnWriteArrayList<>();
    List<String> b = new CopyOnWriteArrayList<>();
    List<String> other = new CopyOnWriteArrayList<>();
    List<String> closes = new CopyOnWriteArrayList<>();
    WsConnection subA =
        connector
            .connect(ws("/relay/1/sub"), loops.next(), collect(a, closes))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    WsConnection subB =
        connector
            .connect(ws("/relay/1/sub"), loops.next(), collect(b, closes))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    WsConnection subOther =
        connector
            .connect(ws("/relay/2/sub"), loops.next(), collect(other, closes))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    WsConnection pub =
        connector
            .connect(
                ws("/relay/1/pub"), loops.next(), collect(new CopyOnWriteArrayList<>(), closes))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
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
    assertThat(floor.connections()).isEqualTo(4);
    assertThat(floor.state().framesIn()).isEqualTo(2);
    assertThat(floor.state().framesOut()).isEqualTo(4);
    pub.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    subA.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    subB.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    subOther.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> closes.size() == 4);
    assertThat(closes).allMatch(c -> c.startsWith("true"));
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> floor.connections() == 0);
  }

  @Test
  void hold_keepsTheSocket_andServerCloseIsSeenAsTheServers() throws Exception {
    List<String> closes = new CopyOnWriteArrayList<>();
    WsConnection c =
        connector
            .connect(ws("/hold"), loops.next(), collect(new CopyOnWriteArrayList<>(), closes))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertThat(c.isOpen()).isTrue();
    c.send("dropped").sync();
    floor.close();
    c.closed().toCompletableFuture().get(5, TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !closes.isEmpty());
    assertThat(closes).singleElement().asString().startsWith("false");
    floor = FloorServer.start("127.0.0.1", 0, 1);
  }

  @Test
  void stats_reportConnectionsAndMemory_andUnknownPathsAre404() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + floor.port() + "/__floor__/stats?gc=1"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .contains("\"connections\":0")
        .contains("\"after_full_gc\":true")
        .contains("\"heap_used\":");
    HttpResponse<String> missing =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + floor.port() + "/nope"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(
            connector
                .connect(
                    ws("/relay/x/other"),
                    loops.next(),
                    collect(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>()))
                .toCompletableFuture()
                .handle((c, e) -> e)
                .get(5, TimeUnit.SECONDS))
        .isNotNull();
  }
}
