package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.failure;
import static org.presence.store.testing.Futures.join;

import com.codahale.metrics.Counter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.presence.LocalPresenceStateStore;

/** Claims, replacement and the node channel over the in-process state store and bus. */
class SessionOwnershipTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final List<UUID> replaced = new CopyOnWriteArrayList<>();
  private final List<String> aborted = new CopyOnWriteArrayList<>();
  private final Counter replacedCounter = new Counter();
  private final SessionOwnership ownership =
      new SessionOwnership(
          "node-a",
          2,
          state,
          bus,
          new DeviceService.LocalSessions() {
            @Override
            public void replaced(UUID session) {
              replaced.add(session);
            }

            @Override
            public void abort(UUID session, ErrorCode code, String detail) {
              aborted.add(session + ":" + code + ":" + detail);
            }
          },
          Clock.systemUTC(),
          replacedCounter);

  @AfterEach
  void tearDown() {
    ownership.close();
    bus.close();
  }

  /** What node {@code node} hears on its channel. */
  private List<String> heardBy(String node) {
    List<String> heard = new CopyOnWriteArrayList<>();
    join(
        bus.subscribe(
            NodeCommand.channel(node), (c, m) -> heard.add(new String(m, StandardCharsets.UTF_8))));
    return heard;
  }

  @Test
  void claim_ofADeviceHeldHere_endsTheOlderSessionHere_andCountsIt() {
    UUID first = UUID.randomUUID();
    UUID second = UUID.randomUUID();
    join(ownership.claim("alice", "phone", first));
    assertThat(replaced).isEmpty();
    join(ownership.claim("alice", "phone", second));
    assertThat(replaced).containsExactly(first);
    assertThat(replacedCounter.getCount()).isEqualTo(1);
    assertThat(join(state.devices("alice")).get("phone").session()).isEqualTo(second);
  }

  @Test
  void claim_ofADeviceHeldOnAnotherNode_asksThatNodeThroughTheBus() {
    List<String> nodeB = heardBy("node-b");
    UUID remote = UUID.randomUUID();
    join(state.claim("alice", "phone", remote, "node-b", 10, 1));
    join(ownership.claim("alice", "phone", UUID.randomUUID()));
    await().atMost(WAIT).until(() -> nodeB.size() == 1);
    assertThat(nodeB).containsExactly("{\"type\":\"replace\",\"session_id\":\"" + remote + "\"}");
    assertThat(replaced).isEmpty();
  }

  @Test
  void claim_beyondTheDevicesPerUser_thenTooManySessions() {
    join(ownership.claim("alice", "phone", UUID.randomUUID()));
    join(ownership.claim("alice", "laptop", UUID.randomUUID()));
    assertThat(failure(ownership.claim("alice", "tablet", UUID.randomUUID())))
        .isEqualTo(ErrorCode.TOO_MANY_SESSIONS);
    assertThat(join(state.devices("alice"))).containsOnlyKeys("phone", "laptop");
  }

  @Test
  void nodeChannel_replaceAndDisconnect_reachTheLocalSessions_garbageIgnored() {
    join(ownership.start());
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    bus.publish(NodeCommand.channel("node-a"), "garbage".getBytes(StandardCharsets.UTF_8));
    bus.publish(
        NodeCommand.channel("node-a"), new NodeCommand(NodeCommand.Type.REPLACE, a).encode());
    bus.publish(
        NodeCommand.channel("node-a"), new NodeCommand(NodeCommand.Type.DISCONNECT, b).encode());
    await().atMost(WAIT).until(() -> replaced.size() == 1 && aborted.size() == 1);
    assertThat(replaced).containsExactly(a);
    assertThat(aborted).containsExactly(b + ":SESSION_ABORTED:" + SessionOwnership.DISCONNECTED);
  }

  @Test
  void disconnectUser_endsSessionsHereAndAsksOtherNodes() {
    List<String> nodeB = heardBy("node-b");
    UUID here = UUID.randomUUID();
    UUID there = UUID.randomUUID();
    join(ownership.claim("alice", "phone", here));
    join(state.claim("alice", "laptop", there, "node-b", 10, 1));
    assertThat(join(ownership.disconnectUser("alice"))).isEqualTo(2);
    assertThat(aborted).containsExactly(here + ":SESSION_ABORTED:" + SessionOwnership.DISCONNECTED);
    await().atMost(WAIT).until(() -> nodeB.size() == 1);
    assertThat(nodeB).containsExactly("{\"type\":\"disconnect\",\"session_id\":\"" + there + "\"}");
    assertThat(join(ownership.disconnectUser("bob"))).isZero();
  }
}
