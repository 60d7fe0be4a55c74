package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.StatusBatches;

/**
 * A node that drains while a device's status is still being stored: the device reads the status's
 * {@code {"result": true}} first, then {@code SERVER_SHUTTING_DOWN} and the close 1001, as
 * device-protocol.md says ("first answers every frame it accepted before").
 */
class DeviceDrainTest {
  @TempDir Path dir;
  private TestNode node;

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void drain_answersAStatusStillBeingStored_beforeServerShuttingDown() throws Exception {
    node = TestNode.embedded(dir);
    CountDownLatch arrived = new CountDownLatch(1);
    AtomicReference<String> stored = new AtomicReference<>();
    CompletableFuture<Void> store = new CompletableFuture<>();
    PresenceStateStore state = node.server().store().presence();
    // The node's statuses go through a store that holds each until the test lets it go.
    StatusBatches slow =
        (user, device, session, status, message, apps, messages, now) -> {
          stored.set(user);
          arrived.countDown();
          return store.thenCompose(
              v -> state.update(user, device, session, status, message, apps, messages, now));
        };
    node.server().device().service().attachStatusBatches(slow);
    try (DeviceTestClient c =
        DeviceTestClient.connected(node, node.token("drain@example.com"), null, "phone")) {
      c.send(new StatusUpdate(c.session(), PresenceStatus.ONLINE, "here", null));
      assertThat(arrived.await(10, TimeUnit.SECONDS)).isTrue();

      SessionDriver session = (SessionDriver) node.server().device().registry().sink(c.session());
      assertThat(session).isNotNull();
      CompletableFuture<Void> drained =
          CompletableFuture.runAsync(() -> node.server().drain(Duration.ofSeconds(30)));
      // The socket's drain action has run (it ends the session: read on its event loop) while the
      // status is still being stored: the overlap is forced, not hoped for from a pause.
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  CompletableFuture.supplyAsync(session::state, session.eventLoop())
                          .get(10, TimeUnit.SECONDS)
                      == DeviceSession.State.CLOSED);
      assertThat(store).as("the status is still being stored").isNotDone();
      store.complete(null);

      DeviceMessage first = c.reply();
      assertThat(first)
          .as("the status accepted before the drain")
          .isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(c.error()).isEqualTo(ErrorCode.SERVER_SHUTTING_DOWN);
      assertThat(c.awaitClose().code()).isEqualTo(1001);
      drained.get(40, TimeUnit.SECONDS);
      assertThat(
              state
                  .devices(stored.get())
                  .toCompletableFuture()
                  .get(5, TimeUnit.SECONDS)
                  .get("phone")
                  .status())
          .as("the status was stored")
          .isEqualTo(PresenceStatus.ONLINE);
    }
  }
}
