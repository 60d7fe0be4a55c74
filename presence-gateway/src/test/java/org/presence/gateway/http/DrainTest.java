package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.PresenceServer;
import org.presence.gateway.testing.LogCapture;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WsClient;

class DrainTest {
  @TempDir Path dataDir;
  TestNode node;

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void drain_sendsWebSocketClientsGoingAwayThenStopsAccepting() throws Exception {
    node =
        TestNode.start(
            TestNode.baseSettings(dataDir), r -> r.webSocket("/ws", TestEndpoints.echo()));
    try (WsClient a = WsClient.connect(node.wsUri("/ws"));
        WsClient b = WsClient.connect(node.wsUri("/ws"))) {
      a.send("ping");
      assertThat(a.next(Duration.ofSeconds(5))).isEqualTo("ping");
      // The server counts a socket as a WebSocket once its upgrade completed on its side, which
      // may be a moment after the client read the handshake answer.
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> node.server().metrics().connectionsOpen("websocket").getValue() == 2L);
      int port = node.port();

      // The drain ends because both sockets went (each after its close 1001), not at its timeout,
      // when it cuts what is left and says so: told by that line, not by how soon it returned.
      try (LogCapture log = LogCapture.of(PresenceServer.class)) {
        node.server().drain(Duration.ofSeconds(30));
        assertThat(log.lines()).noneMatch(l -> l.contains("drain timeout"));
      }

      WsClient.Close close = a.closed().get(5, TimeUnit.SECONDS);
      assertThat(close.code()).isEqualTo(1001);
      assertThat(close.reason()).isEqualTo("Server shutting down");
      assertThat(b.closed().get(5, TimeUnit.SECONDS).code()).isEqualTo(1001);
      assertThat(node.server().openConnections()).isZero();
      assertThatThrownBy(
              () -> {
                try (Socket s = new Socket()) {
                  s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                }
              })
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void drain_closesIdleKeepAliveConnections() throws Exception {
    node = TestNode.embedded(dataDir);
    try (Socket s = new Socket("127.0.0.1", node.port())) {
      s.getOutputStream().write("GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
      s.setSoTimeout(5000);
      byte[] buf = new byte[4096];
      assertThat(s.getInputStream().read(buf)).isPositive();
      node.server().drain(Duration.ofSeconds(3));
      // The server closed the idle connection: the next read ends the stream.
      assertThat(s.getInputStream().read(buf)).isEqualTo(-1);
    }
  }
}
