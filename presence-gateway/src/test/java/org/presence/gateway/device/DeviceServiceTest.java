package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.failure;
import static org.presence.store.testing.Futures.join;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.push.ClientMapping;
import org.presence.store.push.ClientMappingRepository;
import org.presence.store.user.UserSettings;

/** The device channel's rules without Netty: in-process store and bus, a fake token check. */
class DeviceServiceTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final List<String> published = new CopyOnWriteArrayList<>();
  private final List<UUID> replaced = new CopyOnWriteArrayList<>();
  private final Map<String, ClientMapping> mappings = new ConcurrentHashMap<>();

  @AfterEach
  void stop() {
    timers.shutdownNow();
    bus.close();
  }

  private DeviceService service(String grace, double handshakeRate) {
    DeviceConfig d = DeviceConfig.defaults();
    DeviceConfig config =
        new DeviceConfig(
            d.connectTimeout(),
            Duration.parse("PT" + grace.toUpperCase(java.util.Locale.ROOT)),
            d.pingInterval(),
            d.pingTimeout(),
            d.rate(),
            d.burst(),
            d.overdraft(),
            handshakeRate,
            2,
            d.maxApplicationIds(),
            d.maxMessageLength(),
            d.maxDevicesPerUser(),
            d.identityGrace());
    DeviceService s =
        DeviceChannel.assemble(
            config,
            "node-a",
            token ->
                token.startsWith("ok:")
                    ? CompletableFuture.completedFuture(
                        new Identity(token.substring(3), "", Instant.now().plusSeconds(60)))
                    : CompletableFuture.failedFuture(
                        new ProtocolException(ErrorCode.INVALID_ASSERTION)),
            state,
            (user, update, now) -> record(user, update),
            new FakeMappings(),
            bus,
            replaced::add,
            Clock.systemUTC(),
            timers,
            GatewayMetrics.create());
    join(s.start());
    return s;
  }

  private CompletionStage<Void> record(String user, PresenceUpdate update) {
    for (PresenceChange c : update.changes()) {
      published.add(user + ":" + c.appId() + ":" + c.status().wireName() + ":" + c.message());
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Settings read through {@code load}, cached once it completes. */
  private static DeviceService.SettingsSource settings(CompletableFuture<UserSettings> load) {
    return new DeviceService.SettingsSource() {
      @Override
      public CompletionStage<UserSettings> get(String user) {
        return load;
      }

      @Override
      public UserSettings now(String user) {
        return load.isDone() ? load.join() : null;
      }
    };
  }

  @Test
  void status_withoutMessage_carriesTheUsersMessage_andASettingsChangeReannouncesIt() {
    DeviceService s = service("1s", 0);
    s.attachSettings(
        settings(
            CompletableFuture.completedFuture(
                new UserSettings("alice", 5, 10, 25, "At my desk", "Back soon"))));
    UUID id = UUID.randomUUID();
    join(s.open("alice", "phone", id));
    join(s.status("alice", "phone", id, PresenceStatus.ONLINE, null, null));
    join(s.status("alice", "phone", id, PresenceStatus.AWAY, null, null));
    join(s.announce(new UserSettings("alice", 5, 10, 25, "At my desk", "Lunch")));
    join(s.announce(new UserSettings("alice", 5, 10, 25, "At my desk", "Lunch")));
    assertThat(published)
        .containsExactly(
            "alice:0:online:At my desk", "alice:0:away:Back soon", "alice:0:away:Lunch");
  }

  @Test
  void status_whenTheSettingsDoNotLoad_isNotHeldUp_andStaysInOrder() {
    DeviceService s = service("1s", 0);
    CompletableFuture<UserSettings> never = new CompletableFuture<>();
    s.attachSettings(settings(never));
    UUID id = UUID.randomUUID();
    // Opening waits a bounded time for the settings (the database may be down), then goes on.
    join(s.open("alice", "phone", id));
    CompletionStage<Void> first = s.status("alice", "phone", id, PresenceStatus.ONLINE, null, null);
    CompletionStage<Void> second = s.status("alice", "phone", id, PresenceStatus.AWAY, "x", null);
    assertThat(first.toCompletableFuture()).isDone();
    assertThat(second.toCompletableFuture()).isDone();
    assertThat(published).containsExactly("alice:0:online:null", "alice:0:away:x");
  }

  @Test
  void authenticate_whenBadToken_thenItsErrno() {
    DeviceService s = service("1s", 0);
    assertThat(join(s.authenticate("ok:alice", null)).subject()).isEqualTo("alice");
    assertThat(failure(s.authenticate("forged", null))).isEqualTo(ErrorCode.INVALID_ASSERTION);
  }

  @Test
  void authenticate_whenAddressOverItsHandshakeLimit_thenTooManyHandshakes() {
    DeviceService s = service("1s", 0.001);
    InetSocketAddress a = new InetSocketAddress("127.0.0.9", 1000);
    InetSocketAddress b = new InetSocketAddress("127.0.0.10", 1000);
    join(s.authenticate("ok:u", a.getAddress()));
    join(s.authenticate("ok:u", a.getAddress()));
    assertThat(failure(s.authenticate("ok:u", a.getAddress())))
        .isEqualTo(ErrorCode.TOO_MANY_HANDSHAKES);
    assertThat(join(s.authenticate("ok:u", b.getAddress())).subject()).isEqualTo("u");
  }

  @Test
  void open_whenDeviceHeldOnThisNode_thenOlderSessionReplacedHere() {
    DeviceService s = service("1s", 0);
    UUID first = UUID.randomUUID();
    UUID second = UUID.randomUUID();
    join(s.open("alice", "phone", first));
    join(s.open("alice", "phone", second));
    assertThat(replaced).containsExactly(first);
    assertThat(failure(s.status("alice", "phone", first, PresenceStatus.ONLINE, null, null)))
        .isEqualTo(ErrorCode.SESSION_REPLACED);
    join(s.status("alice", "phone", second, PresenceStatus.ONLINE, null, null));
    assertThat(published).containsExactly("alice:0:online:null");
  }

  @Test
  void open_whenDeviceHeldOnAnotherNode_thenAskedThroughTheBus() {
    DeviceService s = service("1s", 0);
    List<String> otherNode = new CopyOnWriteArrayList<>();
    join(
        bus.subscribe(
            DeviceService.nodeChannel("node-b"),
            (c, m) -> otherNode.add(new String(m, java.nio.charset.StandardCharsets.UTF_8))));
    UUID remote = UUID.randomUUID();
    join(state.claim("alice", "phone", remote, "node-b", 10, 1));
    join(s.open("alice", "phone", UUID.randomUUID()));
    await().atMost(WAIT).until(() -> otherNode.size() == 1);
    assertThat(otherNode.get(0))
        .isEqualTo("{\"type\":\"replace\",\"session_id\":\"" + remote + "\"}");
    assertThat(replaced).isEmpty();
  }

  @Test
  void nodeChannel_whenAskedToReplace_thenEndsTheSession() {
    service("1s", 0);
    UUID mine = UUID.randomUUID();
    bus.publish(
        DeviceService.nodeChannel("node-a"),
        ("{\"type\":\"replace\",\"session_id\":\"" + mine + "\"}")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    bus.publish(
        DeviceService.nodeChannel("node-a"),
        "garbage".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    await().atMost(WAIT).until(() -> replaced.size() == 1);
    assertThat(replaced).containsExactly(mine);
  }

  @Test
  void closed_thenOfflineAfterTheGracePeriodOnly() {
    DeviceService s = service("0.3s", 0);
    UUID id = UUID.randomUUID();
    join(s.open("alice", "phone", id));
    join(s.status("alice", "phone", id, PresenceStatus.AWAY, "x", null));
    s.closed("alice", "phone", id);
    assertThat(s.pendingReleases()).isEqualTo(1);
    assertThat(published).containsExactly("alice:0:away:x");
    await().atMost(WAIT).until(() -> published.size() == 2);
    assertThat(published).containsExactly("alice:0:away:x", "alice:0:offline:null");
    assertThat(s.pendingReleases()).isZero();
  }

  @Test
  void closed_thenReconnectWithinGrace_thenNoChange() {
    DeviceService s = service("0.3s", 0);
    UUID first = UUID.randomUUID();
    join(s.open("alice", "phone", first));
    join(s.status("alice", "phone", first, PresenceStatus.ONLINE, null, null));
    s.closed("alice", "phone", first);
    UUID second = UUID.randomUUID();
    join(s.open("alice", "phone", second));
    await().atMost(WAIT).until(() -> s.pendingReleases() == 0);
    join(s.status("alice", "phone", second, PresenceStatus.ONLINE, null, null));
    assertThat(published).containsExactly("alice:0:online:null");
  }

  @Test
  void close_thenPendingDevicesReleasedAtOnce() {
    DeviceService s = service("1h", 0);
    UUID id = UUID.randomUUID();
    join(s.open("alice", "phone", id));
    join(s.status("alice", "phone", id, PresenceStatus.ONLINE, null, ApplicationIds.of(5)));
    s.closed("alice", "phone", id);
    s.close();
    assertThat(published).containsExactly("alice:5:online:null", "alice:5:offline:null");
    assertThat(join(state.devices("alice"))).isEmpty();
  }

  @Test
  void pushStatus_whenTied_thenADeviceOfItsOwn_elseUnknownPresenceId() {
    DeviceService s = service("1s", 0);
    join(s.registerPush("alice", "phone", null, "xpi-1"));
    join(s.pushStatus("xpi-1", PresenceStatus.AWAY));
    assertThat(published).containsExactly("alice:0:away:null");
    assertThat(join(state.devices("alice"))).containsOnlyKeys("phone~push");
    assertThat(failure(s.pushStatus("xpi-2", PresenceStatus.ONLINE)))
        .isEqualTo(ErrorCode.UNKNOWN_PRESENCE_ID);
  }

  /** Client mappings in a map, for tests without a database. */
  private final class FakeMappings implements ClientMappingRepository {
    @Override
    public CompletionStage<ClientMapping> tie(
        String presenceId, String userSub, String deviceId, ApplicationIds applicationIds) {
      ClientMapping m =
          new ClientMapping(
              presenceId, userSub, deviceId, applicationIds, Instant.now(), Instant.now());
      mappings.put(presenceId, m);
      return CompletableFuture.completedFuture(m);
    }

    @Override
    public CompletionStage<Optional<ClientMapping>> find(String presenceId) {
      return CompletableFuture.completedFuture(Optional.ofNullable(mappings.get(presenceId)));
    }

    @Override
    public CompletionStage<Void> touch(String presenceId, Instant now) {
      mappings.computeIfPresent(
          presenceId,
          (k, m) ->
              m.updatedAt().isBefore(now)
                  ? new ClientMapping(
                      m.presenceId(),
                      m.userSub(),
                      m.deviceId(),
                      m.applicationIds(),
                      m.createdAt(),
                      now)
                  : m);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Integer> purgeUnused(Instant before, int limit) {
      throw new UnsupportedOperationException("the sweep does not run here");
    }
  }
}
