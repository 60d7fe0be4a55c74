package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Acknowledge;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.queue.Notification;

/**
 * The session driver on the embedded store and bus, with no Netty: a recording socket stands for
 * the channel, and its event loop is a queue the test runs.
 */
class SessionDriverTest {
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final ArrayDeque<Runnable> loop = new ArrayDeque<>();

  /** Runs a task on the test's event loop ({@link #drain}). */
  private final Executor later =
      r -> {
        synchronized (loop) {
          loop.add(r);
        }
      };

  private DeviceRegistry registry;
  private DeviceChannelInstaller installer;

  /** The answers of live notifications, completed by the test. */
  private final List<CompletableFuture<List<String>>> answers = new ArrayList<>();

  @BeforeEach
  void setUp() {
    DeviceConfig config = DeviceConfig.defaults();
    registry = new DeviceRegistry(config.pingInterval());
    Disconnector disconnector = new Disconnector(metrics);
    DeviceService service =
        DeviceChannel.assemble(
            config,
            "node",
            // "good" is checked later, by a task of the test's loop (as when the provider's keys
            // are fetched first), "at-once" on the caller's thread (a known key); anything else
            // is refused at once.
            token ->
                token.equals("good")
                    ? CompletableFuture.supplyAsync(
                        () -> new Identity("alice", "", Instant.now().plusSeconds(60)), later)
                    : token.equals("at-once")
                        ? CompletableFuture.completedFuture(
                            new Identity("bob", "", Instant.now().plusSeconds(60)))
                        : CompletableFuture.failedFuture(
                            new ProtocolException(ErrorCode.INVALID_ASSERTION)),
            new LocalPresenceStateStore(),
            (user, update, now) -> CompletableFuture.completedFuture(null),
            null,
            bus,
            // A newer session does not end the older one here: the older one learns it from the
            // store at its next status.
            session -> {},
            Clock.systemUTC(),
            timers,
            metrics);
    installer =
        new DeviceChannelInstaller(
            config,
            8192,
            service,
            registry,
            disconnector,
            new ExceptionHandler(disconnector),
            metrics);
    installer.attach(
        new LiveNotifications() {
          @Override
          public void opened(NotificationSink session) {}

          @Override
          public CompletionStage<List<String>> answered(
              String user, List<String> ids, boolean acted) {
            CompletableFuture<List<String>> f = new CompletableFuture<>();
            answers.add(f);
            return f;
          }
        });
  }

  @AfterEach
  void tearDown() {
    timers.shutdownNow();
    bus.close();
  }

  /** Runs the event loop's tasks until none is left (waiting a little for the store's threads). */
  private void drain() throws InterruptedException {
    for (int idle = 0; idle < 20; ) {
      Runnable r;
      synchronized (loop) {
        r = loop.poll();
      }
      if (r == null) {
        idle++;
        Thread.sleep(5);
      } else {
        idle = 0;
        r.run();
      }
    }
  }

  /** A socket that records what is written to it and how it was ended, in order. */
  private final class Recording implements SessionDriver.Socket {
    final List<Object> out = new ArrayList<>();
    boolean held;
    int holds;
    boolean closed;

    @Override
    public void writeReply(DeviceMessage message, boolean flush) {
      out.add(message);
    }

    @Override
    public void flushReplies() {}

    @Override
    public void closeWith(ErrorCode code, String detail) {
      out.add(code);
      closed = true;
    }

    @Override
    public void failWith(Throwable failure) {
      out.add(failure);
      closed = true;
    }

    @Override
    public void pauseReads(boolean pause) {}

    @Override
    public boolean gone() {
      return closed;
    }

    @Override
    public Executor eventLoop() {
      return later;
    }

    @Override
    public boolean inEventLoop() {
      return true;
    }

    @Override
    public boolean active() {
      return !closed;
    }

    @Override
    public InetAddress address() {
      return null;
    }

    @Override
    public String describe() {
      return "test";
    }

    @Override
    public void connecting() {
      held = true;
      holds++;
    }

    @Override
    public void connected() {
      held = false;
    }

    @Override
    public void ping() {
      out.add("ping");
    }

    @Override
    public void writeNotifications(
        RecentIds recent, List<Notification> items, NotificationSink.Written written) {
      out.add(items);
    }
  }

  private UUID open(SessionDriver driver, Recording socket) throws InterruptedException {
    driver.onMessage(new Connect("good", null, "phone"), System.nanoTime());
    assertThat(socket.held).as("reads held while the connect is checked").isTrue();
    drain();
    assertThat(socket.held).isFalse();
    assertThat(socket.out).hasSize(1).first().isInstanceOf(Connected.class);
    return ((Connected) socket.out.remove(0)).sessionId();
  }

  @Test
  void connect_decidedAtOnce_isAnsweredInTheSameCall_withoutHoldingReadsOrATask() {
    Recording socket = new Recording();
    SessionDriver driver = new SessionDriver(installer, socket);
    driver.onMessage(new Connect("at-once", null, "phone"), System.nanoTime());
    // The token was checked and the device claimed (the node's own store) on this thread: the
    // session is open before the socket's next frame could be handled, with no task queued.
    assertThat(socket.out).hasSize(1).first().isInstanceOf(Connected.class);
    assertThat(socket.held).as("reads never held").isFalse();
    assertThat(socket.holds).isZero();
    synchronized (loop) {
      assertThat(loop).isEmpty();
    }
    assertThat(driver.state()).isEqualTo(DeviceSession.State.OPEN);
    assertThat(registry.size()).isEqualTo(1);
  }

  @Test
  void answers_leaveInRequestOrder_behindAPendingAnswerToNotifications() throws Exception {
    Recording socket = new Recording();
    SessionDriver driver = new SessionDriver(installer, socket);
    UUID id = open(driver, socket);
    assertThat(registry.size()).isEqualTo(1);

    driver.onMessage(new Acknowledge(id, List.of("n1")), System.nanoTime());
    driver.onMessage(new StatusUpdate(id, PresenceStatus.ONLINE, null, null), System.nanoTime());
    drain();
    // The status was stored at once, but its ack waits behind the answer to the notifications.
    assertThat(socket.out).isEmpty();

    answers.get(0).complete(List.of("n1"));
    drain();
    assertThat(socket.out)
        .containsExactly(
            ErrorReply.of(ErrorCode.UNKNOWN_NOTIFICATION, "n1"), DeviceMessage.Ack.INSTANCE);
  }

  @Test
  void status_ofASessionWhoseDeviceWasClaimedSince_endsItAsReplaced() throws Exception {
    Recording first = new Recording();
    SessionDriver older = new SessionDriver(installer, first);
    UUID id = open(older, first);
    Recording second = new Recording();
    open(new SessionDriver(installer, second), second);

    older.onMessage(new StatusUpdate(id, PresenceStatus.AWAY, null, null), System.nanoTime());
    drain();
    assertThat(first.out).containsExactly(ErrorCode.SESSION_REPLACED);
    assertThat(second.closed).isFalse();
  }

  @Test
  void badAssertion_closesWithItsErrno_andNothingOpens() throws Exception {
    Recording socket = new Recording();
    SessionDriver driver = new SessionDriver(installer, socket);
    driver.onMessage(new Connect("forged", null, "phone"), System.nanoTime());
    drain();
    assertThat(socket.out).containsExactly(ErrorCode.INVALID_ASSERTION);
    assertThat(driver.state()).isEqualTo(DeviceSession.State.CLOSED);
    assertThat(registry.size()).isZero();
  }

  @Test
  void socketClosed_whileTheConnectIsChecked_opensNothing() throws Exception {
    Recording socket = new Recording();
    SessionDriver driver = new SessionDriver(installer, socket);
    driver.onMessage(new Connect("good", null, "phone"), System.nanoTime());
    socket.closed = true;
    driver.closed();
    drain();
    assertThat(socket.out).isEmpty();
    assertThat(registry.size()).isZero();
  }

  @Test
  void refusal_waitsBehindAPendingAnswer_andAnEndGoesOutLast() throws Exception {
    Recording socket = new Recording();
    SessionDriver driver = new SessionDriver(installer, socket);
    UUID id = open(driver, socket);
    driver.onMessage(new Acknowledge(id, List.of("n1")), System.nanoTime());
    // A status of another session is refused, behind the pending answer.
    driver.onMessage(
        new StatusUpdate(UUID.randomUUID(), PresenceStatus.ONLINE, null, null), System.nanoTime());
    assertThat(socket.out).isEmpty();
    assertThat(driver.failAfterPending(new IllegalStateException("broken frame"))).isTrue();
    answers.get(0).complete(List.of());
    drain();
    assertThat(socket.out).hasSize(3);
    assertThat(socket.out.get(0)).isEqualTo(DeviceMessage.Ack.INSTANCE);
    assertThat(socket.out.get(1)).isInstanceOf(ErrorReply.class);
    assertThat(socket.out.get(2)).isInstanceOf(IllegalStateException.class);
  }
}
