package org.presence.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The clients against a {@link FakeNode} that does what a real node should not (or only rarely
 * does): sessions ended at once, errors the client must stop on, clocks that disagree, servers that
 * never answer or answer too much.
 */
class MisbehavingNodeTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  /** Records what a device's listener is told. */
  static class DeviceEvents implements DeviceClient.Listener {
    final List<String> sessions = new CopyOnWriteArrayList<>();
    final List<PresenceException> causes = new CopyOnWriteArrayList<>();
    final List<Duration> waits = new CopyOnWriteArrayList<>();

    @Override
    public void onConnected(String sessionId) {
      sessions.add(sessionId);
    }

    @Override
    public void onDisconnected(PresenceException cause, Duration retryIn) {
      causes.add(cause);
      waits.add(retryIn);
    }
  }

  private static String accepted(int n) {
    return "{\"result\":true,\"session_id\":\"s" + n + "\"}";
  }

  @Test
  void device_sessionsEndedRightAfterTheConnectAnswer_areRetriedWithAGrowingBackoff()
      throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText(accepted(n));
              c.sendClose(4010, "aborted");
              c.drain();
            })) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri())
              .token(() -> "t")
              .backoff(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5)))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> events.waits.size() >= 6);
        // Every session was answered, yet none stayed up: the ceilings grow (100 ms, 200 ms, ...),
        // so six draws all below the first ceiling are next to impossible.
        assertThat(events.sessions).hasSizeGreaterThanOrEqualTo(6);
        assertThat(events.waits.subList(0, 6)).anyMatch(w -> w != null && w.toMillis() > 100);
      }
    }
  }

  @Test
  void device_aSessionThatStayedUp_startsTheBackoffAfresh() throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText(accepted(n));
              if (n >= 5) {
                Thread.sleep(700);
              }
              c.sendClose(4010, "aborted");
              c.drain();
            })) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri())
              .token(() -> "t")
              .backoff(new Backoff(Duration.ofMillis(50), Duration.ofMillis(400)))
              .resetBackoffAfter(Duration.ofMillis(300))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> events.waits.size() >= 6);
        // The fifth session stayed up 700 ms: the wait after it is below the first ceiling again.
        assertThat(events.waits.get(4).toMillis()).isLessThanOrEqualTo(50);
      }
    }
  }

  @Test
  void device_revoked_stopsTheClient_withoutReconnecting() throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText(accepted(n));
              c.readText();
              c.sendText("{\"errno\":-12,\"reason\":\"Device revoked by its user\"}");
              c.sendClose(4012, "");
              c.drain();
            })) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri())
              .token(() -> "t")
              .backoff(new Backoff(Duration.ofMillis(20), Duration.ofMillis(40)))
              .listener(events)
              .start()) {
        CompletableFuture<Void> status = dev.status(PresenceStatus.ONLINE, null);
        await().atMost(WAIT).until(() -> !events.waits.isEmpty());
        assertThat(events.causes.get(0).errno()).isEqualTo(DeviceClient.DEVICE_REVOKED);
        assertThat(events.waits.get(0)).isNull();
        assertThat(status).failsWithin(WAIT);
        Thread.sleep(300);
        assertThat(node.connections()).isEqualTo(1);
        assertThat(events.waits).hasSize(1);
      }
    }
  }

  private static String pushed(String id) {
    return "{\"notifications\":[{\"id\":\""
        + id
        + "\",\"appid\":7,\"source\":\"A\",\"message\":\"m\",\"expires\":0}]}";
  }

  @Test
  void device_aListenerThatThrows_isLogged_andTheSessionGoesOn() throws Exception {
    List<String> requests = new CopyOnWriteArrayList<>();
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText(accepted(n));
              c.sendText(pushed("first"));
              c.sendText(pushed("second"));
              while (true) {
                requests.add(c.readText());
                c.sendText("{\"result\":true}");
              }
            })) {
      List<String> delivered = new CopyOnWriteArrayList<>();
      DeviceEvents events =
          new DeviceEvents() {
            @Override
            public void onConnected(String sessionId) {
              super.onConnected(sessionId);
              throw new IllegalStateException("a bug in onConnected");
            }

            @Override
            public void onNotifications(List<DeviceClient.Notification> list) {
              list.forEach(x -> delivered.add(x.id()));
              throw new IllegalStateException("a bug in onNotifications");
            }
          };
      try (DeviceClient dev =
          DeviceClient.builder(node.uri())
              .token(() -> "t")
              .backoff(new Backoff(Duration.ofMillis(20), Duration.ofMillis(40)))
              .listener(events)
              .start()) {
        get(dev.status(PresenceStatus.AWAY, "x"));
        await().atMost(WAIT).until(() -> delivered.size() == 2);
        assertThat(delivered).containsExactly("first", "second");
        get(dev.acknowledge(List.of("second")));
        assertThat(requests).hasSize(2);
        assertThat(events.sessions).hasSize(1);
        assertThat(events.causes).isEmpty();
      }
    }
  }

  @Test
  void device_aClockAheadOfTheNodes_doesNotRefreshInALoop() throws Exception {
    List<String> refreshes = new CopyOnWriteArrayList<>();
    long past = System.currentTimeMillis() - 3_600_000;
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText("{\"result\":true,\"session_id\":\"s\",\"expires_at\":" + past + "}");
              while (true) {
                refreshes.add(c.readText());
                c.sendText("{\"result\":true,\"expires_at\":" + past + "}");
              }
            })) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri())
              .token(() -> "t")
              .refreshFloor(Duration.ofMillis(200))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> events.sessions.size() == 1);
        Thread.sleep(1_600);
        // The first refresh at once (the expiry is already past here), then 200, 400, 800 ms.
        assertThat(refreshes).hasSizeBetween(2, 4);
        assertThat(refreshes).allMatch(r -> r.contains("\"refresh\""));
        assertThat(events.causes).isEmpty();
      }
    }
  }

  @Test
  void device_closeCodeWithoutAnErrorFrame_isReadAsItsErrno_4002StopsTheClient() throws Exception {
    assertThat(DeviceClient.closeErrno(1001)).isEqualTo(-3);
    assertThat(DeviceClient.closeErrno(1007)).isEqualTo(-13);
    assertThat(DeviceClient.closeErrno(4012)).isEqualTo(-12);
    assertThat(DeviceClient.closeErrno(4034)).isEqualTo(34);
    assertThat(DeviceClient.closeErrno(1000)).isEqualTo(PresenceException.NO_ERRNO);
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText(accepted(n));
              c.sendClose(4002, "");
              c.drain();
            })) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri())
              .token(() -> "t")
              .backoff(new Backoff(Duration.ofMillis(20), Duration.ofMillis(40)))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> !events.waits.isEmpty());
        assertThat(events.causes.get(0).errno()).isEqualTo(DeviceClient.SESSION_REPLACED);
        assertThat(events.waits.get(0)).isNull();
        Thread.sleep(300);
        assertThat(node.connections()).isEqualTo(1);
      }
    }
  }

  @Test
  void app_closeCodeWithoutAnErrorFrame_isReadAsItsErrno_4112StopsTheClient() throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText("{\"result\":true}");
              c.sendClose(4112, "");
              c.drain();
            })) {
      List<PresenceException> causes = new CopyOnWriteArrayList<>();
      List<Boolean> retried = new CopyOnWriteArrayList<>();
      AppClient.Listener events =
          new AppClient.Listener() {
            @Override
            public void onDisconnected(PresenceException cause, Duration retryIn) {
              causes.add(cause);
              retried.add(retryIn != null);
            }
          };
      try (AppClient app =
          AppClient.builder(node.uri(), 7, "key")
              .transport(AppClient.Transport.WEBSOCKET)
              .backoff(new Backoff(Duration.ofMillis(20), Duration.ofMillis(40)))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> !causes.isEmpty());
        assertThat(causes.get(0).errno()).isEqualTo(112);
        assertThat(retried.get(0)).isFalse(); // stopped, as after an error frame with errno 112
        Thread.sleep(300);
        assertThat(node.connections()).isEqualTo(1);
        assertThat(causes).hasSize(1);
      }
    }
  }

  @Test
  void app_listenerThatThrowsOnConnectAndDisconnect_isLogged_andTheClientKeepsReconnecting()
      throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText("{\"result\":true}");
              c.sendClose(1011, "");
              c.drain();
            })) {
      AtomicInteger connects = new AtomicInteger();
      AtomicInteger losses = new AtomicInteger();
      AppClient.Listener events =
          new AppClient.Listener() {
            @Override
            public void onConnected(AppClient.Transport transport) {
              connects.incrementAndGet();
              throw new IllegalStateException("connected listener broke");
            }

            @Override
            public void onDisconnected(PresenceException cause, Duration retryIn) {
              losses.incrementAndGet();
              throw new IllegalStateException("disconnected listener broke");
            }
          };
      try (AppClient app =
          AppClient.builder(node.uri(), 7, "key")
              .transport(AppClient.Transport.WEBSOCKET)
              .backoff(new Backoff(Duration.ofMillis(5), Duration.ofMillis(20)))
              .listener(events)
              .start()) {
        await().atMost(WAIT).until(() -> node.connections() >= 3 && losses.get() >= 3);
        assertThat(connects.get()).isGreaterThanOrEqualTo(2);
      }
    }
  }

  @Test
  void app_connectionsEndedRightAfterTheAnswer_areRetriedWithAGrowingBackoff() throws Exception {
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText("{\"result\":true}");
              c.sendClose(4500, "");
              c.drain();
            })) {
      List<Duration> waits = new CopyOnWriteArrayList<>();
      List<AppClient.Transport> connects = new CopyOnWriteArrayList<>();
      try (AppClient app =
          AppClient.builder(node.uri(), 7, "key")
              .transport(AppClient.Transport.WEBSOCKET)
              .backoff(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5)))
              .listener(
                  new AppClient.Listener() {
                    @Override
                    public void onConnected(AppClient.Transport t) {
                      connects.add(t);
                    }

                    @Override
                    public void onDisconnected(PresenceException cause, Duration retryIn) {
                      waits.add(retryIn);
                    }
                  })
              .start()) {
        await().atMost(WAIT).until(() -> waits.size() >= 6);
        assertThat(connects).hasSizeGreaterThanOrEqualTo(6);
        assertThat(waits.subList(0, 6)).anyMatch(w -> w != null && w.toMillis() > 100);
      }
    }
  }

  @Test
  void device_statusesQueuedWhileOneIsUnanswered_areMergedIntoTheLatest() throws Exception {
    List<String> statuses = new CopyOnWriteArrayList<>();
    try (FakeNode node =
        FakeNode.start(
            (c, n) -> {
              c.readText();
              c.sendText(accepted(n));
              while (true) {
                statuses.add(c.readText());
                // The node is slow to answer the first: the others wait in the client's queue.
                Thread.sleep(statuses.size() == 1 ? 500 : 0);
                c.sendText("{\"result\":true}");
              }
            })) {
      DeviceEvents events = new DeviceEvents();
      try (DeviceClient dev =
          DeviceClient.builder(node.uri()).token(() -> "t").listener(events).start()) {
        await().atMost(WAIT).until(() -> events.sessions.size() == 1);
        List<CompletableFuture<Void>> sent = new java.util.ArrayList<>();
        sent.add(dev.status(PresenceStatus.ONLINE, "m0"));
        await().atMost(WAIT).until(() -> statuses.size() == 1);
        for (int i = 1; i < 10; i++) {
          sent.add(dev.status(i % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.AWAY, "m" + i));
        }
        for (CompletableFuture<Void> f : sent) {
          get(f);
        }
        Thread.sleep(200);
        assertThat(statuses).hasSize(2);
        assertThat(statuses.get(0)).contains("\"m0\"");
        assertThat(statuses.get(1)).contains("\"m9\"").contains("away");
      }
    }
  }

  /** An application listener that records its disconnects. */
  static final class AppDisconnects implements AppClient.Listener {
    final List<PresenceException> causes = new CopyOnWriteArrayList<>();

    @Override
    public void onDisconnected(PresenceException cause, Duration retryIn) {
      causes.add(cause);
    }
  }

  @Test
  void app_aStreamThatIsNeverAnswered_isALostAttempt() throws Exception {
    try (FakeNode node = FakeNode.http((line, socket, n) -> Thread.sleep(60_000))) {
      AppDisconnects events = new AppDisconnects();
      try (AppClient app =
          AppClient.builder(node.uri(), 7, "key")
              .transport(AppClient.Transport.STREAM)
              .answerTimeout(Duration.ofMillis(500))
              .backoff(new Backoff(Duration.ofMillis(20), Duration.ofMillis(40)))
              .listener(events)
              .start()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> events.causes.size() >= 2);
        assertThat(node.connections()).isGreaterThanOrEqualTo(2);
      }
    }
  }

  @Test
  void app_aStreamLineOverTheCap_endsTheStream_asLost() throws Exception {
    try (FakeNode node =
        FakeNode.http(
            (line, socket, n) -> {
              java.io.OutputStream out = socket.getOutputStream();
              out.write(
                  ("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                          + "Connection: close\r\n\r\n{\"result\":true}\n")
                      .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
              byte[] chunk =
                  "x".repeat(64 * 1024).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
              // 5 Mi characters without a line end, then the connection is held open.
              for (int i = 0; i < 80; i++) {
                out.write(chunk);
              }
              out.flush();
              Thread.sleep(60_000);
            })) {
      AppDisconnects events = new AppDisconnects();
      List<AppClient.Transport> connects = new CopyOnWriteArrayList<>();
      try (AppClient app =
          AppClient.builder(node.uri(), 7, "key")
              .transport(AppClient.Transport.STREAM)
              .backoff(new Backoff(Duration.ofSeconds(30), Duration.ofSeconds(30)))
              .listener(
                  new AppClient.Listener() {
                    @Override
                    public void onConnected(AppClient.Transport t) {
                      connects.add(t);
                    }

                    @Override
                    public void onDisconnected(PresenceException cause, Duration retryIn) {
                      events.onDisconnected(cause, retryIn);
                    }
                  })
              .start()) {
        await().atMost(WAIT).until(() -> !events.causes.isEmpty());
        assertThat(connects).containsExactly(AppClient.Transport.STREAM);
        assertThat(events.causes.get(0).errno()).isEqualTo(-5);
      }
    }
  }

  static <T> T get(CompletableFuture<T> f) {
    return f.orTimeout(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
  }
}
