package org.presence.loadtest.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.presence.client.PresenceStatus;
import org.presence.loadtest.floor.FloorFixture;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.Reply;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.WsConnection;

/**
 * A {@link DeviceSession} over real sockets, with the node's side played through the floor's relay:
 * the session subscribes to a relay channel, and what the test publishes there reaches it as the
 * node's frames would.
 */
class DeviceSessionTest {
  @RegisterExtension final FloorFixture fixture = new FloorFixture(SourceAddresses.any());

  private final List<String> pushed = new CopyOnWriteArrayList<>();
  private final List<String> closes = new CopyOnWriteArrayList<>();

  private final DeviceSession.Listener listener =
      new DeviceSession.Listener() {
        @Override
        public void pushed(ByteBuf utf8) {
          pushed.add(utf8.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void closed(boolean byUs, int closeCode, String reason) {
          closes.add(byUs + " " + closeCode);
        }
      };

  /** The session on relay channel {@code channel}, and the socket that plays the node. */
  private DeviceSession session(int channel) throws Exception {
    return DeviceSession.open(
            fixture.connector(),
            fixture.ws("/relay/" + channel + "/sub"),
            fixture.loop(),
            null,
            listener)
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  private WsConnection node(int channel) throws Exception {
    return fixture
        .connector()
        .connect(
            fixture.ws("/relay/" + channel + "/pub"),
            fixture.loop(),
            FloorFixture.collect(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>()))
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  @Test
  void pushes_goToTheListener_andNeverTakeThePlaceOfAnAwaitedAnswer() throws Exception {
    DeviceSession s = session(1);
    WsConnection node = node(1);

    var connected = s.connect("an-assertion", "phone").toCompletableFuture();
    node.send("{\"notifications\":[{\"id\":\"n1\",\"message\":\"lt:1\"}]}");
    node.send("{\"result\":true,\"session_id\":\"s-1\",\"expires_at\":1}");
    assertThat(connected.get(5, TimeUnit.SECONDS)).isEqualTo("s-1");
    assertThat(s.sessionId()).isEqualTo("s-1");

    var first = s.status(PresenceStatus.ONLINE, "lt:2").toCompletableFuture();
    node.send("{\"settings\":{\"online_within_minutes\":5,\"away_after_minutes\":10}}");
    node.send("{\"result\":false,\"errno\":40,\"reason\":\"Slow down\"}");
    assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo(Reply.error(40, "Slow down"));

    var second = s.status(PresenceStatus.AWAY, "lt:3").toCompletableFuture();
    node.send("{\"result\":true}");
    assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo(Reply.ack());
    // The same answer spelled otherwise is read as JSON, to the same reply.
    var third = s.status(PresenceStatus.ONLINE, "lt:3").toCompletableFuture();
    node.send("{ \"result\": true }");
    assertThat(third.get(5, TimeUnit.SECONDS)).isEqualTo(Reply.ack());
    // An answer as long as the plain one but not it is not taken for it.
    var fourth = s.status(PresenceStatus.AWAY, "lt:3").toCompletableFuture();
    node.send("{\"result\":fals}");
    assertThatThrownBy(() -> fourth.get(5, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(ClientException.kindOf(e)).isEqualTo("bad-answer"));

    // An answer nobody waits for (the error before the node closes a session) is handed on.
    node.send("{\"result\":false,\"errno\":-5,\"reason\":\"Session ended\"}");
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (pushed.size() < 3 && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    assertThat(pushed)
        .containsExactly(
            "{\"notifications\":[{\"id\":\"n1\",\"message\":\"lt:1\"}]}",
            "{\"settings\":{\"online_within_minutes\":5,\"away_after_minutes\":10}}",
            "{\"result\":false,\"errno\":-5,\"reason\":\"Session ended\"}");

    s.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    s.closedFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(s.isOpen()).isFalse();
    assertThat(closes).hasSize(1).allMatch(c -> c.startsWith("true "), "closed by us");
    node.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Test
  void refusedConnect_failsWithTheErrno_andClosesTheSocket() throws Exception {
    DeviceSession s = session(2);
    WsConnection node = node(2);

    var connected = s.connect("expired", "phone").toCompletableFuture();
    node.send("{\"result\":false,\"errno\":34,\"reason\":\"Invalid assertion\"}");
    assertThatThrownBy(() -> connected.get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .satisfies(e -> assertThat(ClientException.kindOf(e)).isEqualTo("errno 34"));
    s.closedFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(s.status(PresenceStatus.ONLINE, "x").toCompletableFuture())
        .isCompletedExceptionally();
    node.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Test
  void unreadableAnswer_failsTheRequestItAnswers() throws Exception {
    DeviceSession s = session(3);
    WsConnection node = node(3);

    var connected = s.connect("an-assertion", null).toCompletableFuture();
    node.send("{\"result\":true,\"session_id\":\"s-3\"}");
    connected.get(5, TimeUnit.SECONDS);
    var status = s.status(PresenceStatus.ONLINE, "lt:4").toCompletableFuture();
    node.send("not json");
    assertThatThrownBy(() -> status.get(5, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(ClientException.kindOf(e)).isEqualTo("bad-answer"));
    s.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
    node.close().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }
}
