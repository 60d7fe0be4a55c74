package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.SnapshotReader;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;

/**
 * {@link UpdateConsumer} writing to a real loopback socket: the sink writes each frame as one line
 * to a server-side channel with small write-buffer water marks, and the test's client socket reads
 * (or does not read) the lines. Pins: a snapshot, then every update after its number once and in
 * order; a cursor older than the buffer read from the log; one older than the log gets a fresh
 * snapshot; a connection that does not read stalls the consumer (bounded by its socket) and gets
 * everything, in order, once it reads; receipts bounded while it does not; the PUID filter; a
 * failed log read ends the connection; close stops delivery.
 */
class UpdateConsumerTest {
  private static final long APP = 7;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final UpdateMetrics metrics = new UpdateMetrics(new MetricRegistry());
  private final List<String> failures = new CopyOnWriteArrayList<>();
  private EmbeddedPersistence db;
  private LocalPresenceStateStore state;
  private AppUpdateLog log = new LocalAppUpdateLog();
  private FlakyLog consumerLog;
  private AppUpdatePublisher publisher;
  private AppHub hub;
  private EventLoopGroup loops;
  private Channel server;
  private Channel child;
  private Socket client;
  private BufferedReader lines;
  private volatile UpdateConsumer consumer;
  private int puids;

  /** What the snapshot reads instead of the database's grants and the state, when set. */
  private GrantRepository snapshotGrants;

  private PresenceStateStore snapshotState;

  /** Spaces the sink writes after each frame (before its newline); 0: none. */
  private volatile int pad;

  /** Pumps by the connection's writability handler. */
  private final AtomicInteger writablePumps = new AtomicInteger();

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (hub != null) {
      hub.close();
    }
    if (server != null) {
      // Closed here, not left to the group's shutdown: with a quiet period of 0, Netty 4.2's event
      // loop can end without closing its channels when the shutdown begins while it runs tasks, and
      // a frame still in the connection's outbound buffer is then never released (PARANOID leak).
      if (child != null) {
        child.close().sync();
      }
      server.close().sync();
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
    timers.shutdownNow();
    bus.close();
    if (db != null) {
      db.close();
    }
    if (state != null) {
      state.close();
    }
  }

  private static UpdatesConfig config(int bufferSize, int maxBatch, int receiptsBuffer) {
    return config(bufferSize, maxBatch, receiptsBuffer, 50);
  }

  private static UpdatesConfig config(
      int bufferSize, int maxBatch, int receiptsBuffer, int snapshotPage) {
    return new UpdatesConfig(
        Duration.ofSeconds(10),
        100,
        100,
        100,
        bufferSize,
        Duration.ofHours(1),
        maxBatch,
        snapshotPage,
        Duration.ofMillis(100),
        Duration.ofMillis(200),
        Duration.ofSeconds(30),
        receiptsBuffer,
        0,
        false,
        10,
        10,
        10);
  }

  /** The hub, a loopback connection and a consumer on it, not started yet. */
  private void connect(UpdatesConfig config, Predicate<String> filter) throws Exception {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dir));
    state = new LocalPresenceStateStore();
    publisher = new AppUpdatePublisher(log, bus);
    hub = new AppHub(APP, publisher, bus, config, timers, metrics);
    join(hub.start());
    consumerLog = new FlakyLog(log);
    UpdateConsumer.Context ctx =
        new UpdateConsumer.Context(
            consumerLog,
            snapshotGrants != null
                ? new SnapshotReader(snapshotGrants, snapshotState)
                : new SnapshotReader(db.grants(), state),
            config,
            metrics);
    CompletableFuture<Channel> accepted = new CompletableFuture<>();
    loops = new NioEventLoopGroup(1);
    server =
        new ServerBootstrap()
            .group(loops)
            .channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(512, 1024))
            .childOption(ChannelOption.SO_SNDBUF, 4096)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new ChannelInboundHandlerAdapter() {
                              @Override
                              public void channelWritabilityChanged(ChannelHandlerContext c) {
                                UpdateConsumer u = consumer;
                                if (u != null && c.channel().isWritable()) {
                                  writablePumps.incrementAndGet();
                                  u.pump();
                                }
                                c.fireChannelWritabilityChanged();
                              }
                            });
                    accepted.complete(ch);
                  }
                })
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
    client = new Socket();
    client.setReceiveBufferSize(4096);
    client.setSoTimeout((int) WAIT.toMillis());
    client.connect(server.localAddress(), 5000);
    lines =
        new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
    child = accepted.get(10, TimeUnit.SECONDS);
    consumer = new UpdateConsumer(APP, hub, ctx, new LineSink(child), filter);
  }

  /** Runs {@code r} on the connection's event loop and waits for it. */
  private void onLoop(Runnable r) throws Exception {
    child.eventLoop().submit(r).get(10, TimeUnit.SECONDS);
  }

  private List<AppUpdate> publish(int n) {
    List<AppUpdate.New> news = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      news.add(new AppUpdate.New("puid-" + (puids++ % 5), PresenceStatus.ONLINE, "m" + puids));
    }
    return join(publisher.publish(APP, news));
  }

  /** The frames that arrive within {@code d} (none must be half-read when it ends). */
  private List<JsonNode> framesWithin(Duration d) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    client.setSoTimeout((int) d.toMillis());
    try {
      for (String line; (line = lines.readLine()) != null; ) {
        out.add(JSON.readTree(line));
      }
    } catch (SocketTimeoutException e) {
      // Quiet for d.
    } finally {
      client.setSoTimeout((int) WAIT.toMillis());
    }
    return out;
  }

  private JsonNode frame() throws Exception {
    String line = lines.readLine();
    assertThat(line).as("a frame").isNotNull();
    return JSON.readTree(line);
  }

  /** Reads update frames until update {@code last}; every update number seen, in order. */
  private List<Long> updatesUntil(long last) throws Exception {
    List<Long> seen = new ArrayList<>();
    while (seen.isEmpty() || seen.get(seen.size() - 1) < last) {
      JsonNode f = frame();
      assertThat(f.isArray()).as("an update frame: %s", f).isTrue();
      f.forEach(u -> seen.add(u.get("seq").asLong()));
    }
    return seen;
  }

  @Test
  void aSnapshotFirst_thenEveryUpdateAfterItsNumber_onceAndInOrder() throws Exception {
    connect(config(64, 10, 16), null);
    publish(3);
    long p = join(log.lastSeq(APP));
    onLoop(() -> consumer.startWithSnapshot(false));
    JsonNode snap = frame();
    assertThat(snap.get("snapshot")).isEmpty();
    assertThat(snap.get("seq").asLong()).isEqualTo(p);
    assertThat(snap.get("fresh").asBoolean()).isFalse();
    assertThat(snap.get("done").asBoolean()).isTrue();
    publish(25);
    assertThat(updatesUntil(p + 25)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 25));
    await().atMost(WAIT).until(() -> consumer.cursor() == p + 25);
  }

  @Test
  void whatTheSnapshotShowed_isDroppedWhenItsWindowEnds_withoutAnotherUpdate() throws Exception {
    connect(config(64, 10, 16), null);
    long p = join(log.lastSeq(APP));
    onLoop(() -> consumer.startWithSnapshot(false));
    assertThat(frame().get("done").asBoolean()).isTrue();
    await().atMost(WAIT).until(() -> consumer.cursor() == p);
    AtomicReference<SnapshotOverlap> held = new AtomicReference<>();
    onLoop(() -> held.set(consumer.overlap()));
    assertThat(held.get()).as("held during the window").isNotNull();
    // A quiet application: no update comes to check against it, yet it goes at the window's end.
    await()
        .atMost(WAIT)
        .until(
            () -> {
              onLoop(() -> held.set(consumer.overlap()));
              return held.get() == null;
            });
    publish(1);
    JsonNode next = frame();
    assertThat(next.get(0).get("seq").asLong()).isEqualTo(p + 1);
  }

  /**
   * The next page of a snapshot is read while the current one is written and read by the client: a
   * connection that does not read yet has had its first page sent and its second asked of the
   * store, in one state read (not one per user).
   */
  @Test
  void aSnapshotsNextPage_isReadWhileThePageBeforeIsWritten_inOneStateReadAPage() throws Exception {
    List<Grant> grants = new ArrayList<>();
    LocalPresenceStateStore users = new LocalPresenceStateStore();
    for (int i = 0; i < 4; i++) {
      String sub = "user-" + i;
      grants.add(new Grant("puid-" + i, sub, APP, sub, true, Instant.EPOCH, Instant.EPOCH));
      UUID session = UUID.randomUUID();
      join(users.claim(sub, "d", session, "n", 10, 1));
      join(users.update(sub, "d", session, PresenceStatus.ONLINE, null, null, 2));
    }
    List<List<String>> pageReads = new CopyOnWriteArrayList<>();
    AtomicInteger oneReads = new AtomicInteger();
    snapshotGrants = pagedGrants(grants);
    snapshotState = countingState(users, pageReads, oneReads);
    // A frame bigger than the socket's buffers: the first one leaves the connection unwritable.
    pad = 1 << 20;
    connect(config(64, 10, 16, 1), null);
    onLoop(() -> consumer.startWithSnapshot(false));
    await().atMost(WAIT).until(() -> pageReads.size() >= 2);
    AtomicReference<Boolean> writable = new AtomicReference<>();
    onLoop(() -> writable.set(child.isWritable()));
    assertThat(writable.get()).as("the first frame is not read yet").isFalse();
    assertThat(pageReads).hasSize(2);
    assertThat(pageReads.get(0)).containsExactly("user-0");
    assertThat(pageReads.get(1)).containsExactly("user-1");
    assertThat(oneReads).hasValue(0);
    users.close();
  }

  /** {@code grants} as an application's, in pages by PUID; nothing else is asked of it. */
  private static GrantRepository pagedGrants(List<Grant> grants) {
    return (GrantRepository)
        Proxy.newProxyInstance(
            GrantRepository.class.getClassLoader(),
            new Class<?>[] {GrantRepository.class},
            (proxy, method, args) -> {
              if (!method.getName().equals("listEnabledByApp")) {
                throw new UnsupportedOperationException(method.getName());
              }
              String after = (String) args[1];
              int n = (Integer) args[2];
              List<Grant> page = new ArrayList<>();
              for (Grant g : grants) {
                if (g.puid().compareTo(after) > 0 && page.size() < n) {
                  page.add(g);
                }
              }
              return CompletableFuture.completedFuture(page);
            });
  }

  /** {@code store}, counting its page reads (by user) and its reads of one user. */
  private static PresenceStateStore countingState(
      PresenceStateStore store, List<List<String>> pageReads, AtomicInteger oneReads) {
    return (PresenceStateStore)
        Proxy.newProxyInstance(
            PresenceStateStore.class.getClassLoader(),
            new Class<?>[] {PresenceStateStore.class},
            (proxy, method, args) -> {
              if (method.getName().equals("presence") && args[0] instanceof List<?> users) {
                pageReads.add(users.stream().map(String.class::cast).toList());
              } else if (method.getName().equals("presence")) {
                oneReads.incrementAndGet();
              }
              try {
                return method.invoke(store, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void aSnapshotWhoseLastFrameDrainsAtOnce_isDoneOnce() throws Exception {
    connect(config(64, 10, 16), null);
    // Each frame padded past the 1 KiB high water mark: writing it makes the channel unwritable,
    // and the flush, which the socket takes whole, makes it writable again at once, so the
    // connection's writability handler pumps the consumer from inside the snapshot's flush.
    pad = 2048;
    long p = join(log.lastSeq(APP));
    onLoop(() -> consumer.startWithSnapshot(false));
    JsonNode snap = frame();
    assertThat(snap.get("done").asBoolean()).as("%s", snap).isTrue();
    await().atMost(WAIT).until(() -> writablePumps.get() > 0);
    assertThat(framesWithin(Duration.ofMillis(700))).as("frames after the done frame").isEmpty();
    publish(1);
    JsonNode next = frame();
    assertThat(next.isArray()).as("%s", next).isTrue();
    assertThat(next.get(0).get("seq").asLong()).isEqualTo(p + 1);
  }

  @Test
  void aCursorOlderThanTheBuffer_isServedFromTheLog_withoutGaps() throws Exception {
    connect(config(4, 5, 16), null);
    long p = join(log.lastSeq(APP));
    publish(30);
    assertThat(hub.read(p, 10).outcome()).isEqualTo(AppHub.Outcome.BEHIND);
    onLoop(() -> consumer.startAfter(p));
    assertThat(updatesUntil(p + 30)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 30));
    assertThat(metrics.logReads().getCount()).isPositive();
  }

  @Test
  void aCursorOlderThanTheLog_getsAFreshSnapshot_thenTheUpdates() throws Exception {
    log = new LocalAppUpdateLog(Clock.systemUTC(), AppUpdateLog.RETENTION, 3);
    connect(config(4, 5, 16), null);
    long p = join(log.lastSeq(APP));
    publish(10);
    onLoop(() -> consumer.startAfter(p));
    JsonNode snap = frame();
    assertThat(snap.get("fresh").asBoolean()).as("%s", snap).isTrue();
    long at = snap.get("seq").asLong();
    assertThat(at).isEqualTo(p + 10);
    publish(2);
    assertThat(updatesUntil(p + 12)).isEqualTo(UpdatesFixture.seqs(p + 11, p + 12));
    assertThat(metrics.freshSnapshots().getCount()).isEqualTo(1);
  }

  @Test
  void aConnectionThatDoesNotRead_stallsTheConsumer_andGetsEverythingInOrderOnceItReads()
      throws Exception {
    // A buffer that holds every update: the consumer never has to wait for the log.
    connect(config(4000, 10, 16), null);
    long p = join(log.lastSeq(APP));
    // Far more than the kernel's buffers (4 KiB asked on each side: about 12 KiB taken on loopback)
    // and the 1 KiB water mark hold, few enough to publish quickly on a loaded machine with
    // paranoid
    // leak tracking. All published before the consumer starts, so its first pump fills the socket
    // and no later update wakes it: the stall must be counted by the pump that met it.
    int n = 1000;
    for (int i = 0; i < n / 100; i++) {
      publish(100);
    }
    onLoop(() -> consumer.startAfter(p));
    await().atMost(WAIT).until(() -> !child.isWritable() && metrics.stalls().getCount() > 0);
    // Stalled: the consumer holds a cursor, not the updates; the channel only what its high water
    // mark (1 KiB) let through plus the frame of at most 10 updates that crossed it.
    AppUpdates.ConsumerStats stalled = statsOnLoop();
    assertThat(stalled.writable()).isFalse();
    assertThat(stalled.cursor()).isLessThan(p + n);
    assertThat(stalled.pendingBytes()).isLessThan(1024 + 1024);
    // Receipts wait meanwhile, the oldest dropped beyond the bound.
    for (int i = 0; i < 20; i++) {
      consumer.offerReceipt(new Receipt("r" + i, "puid-1", "delivered", i));
    }
    assertThat(consumer.queuedReceipts()).isEqualTo(16);
    assertThat(metrics.receiptsDropped().getCount()).isEqualTo(4);
    // Now it reads: every update, in order, once; and the 16 newest receipts.
    List<Long> seen = new ArrayList<>();
    List<String> receipts = new ArrayList<>();
    while (seen.isEmpty() || seen.get(seen.size() - 1) < p + n || receipts.size() < 16) {
      JsonNode f = frame();
      if (f.isArray()) {
        f.forEach(u -> seen.add(u.get("seq").asLong()));
      } else {
        f.get("receipts").forEach(r -> receipts.add(r.get("id").asText()));
      }
    }
    assertThat(seen).isEqualTo(UpdatesFixture.seqs(p + 1, p + n));
    List<String> newest = new ArrayList<>();
    for (int i = 4; i < 20; i++) {
      newest.add("r" + i);
    }
    assertThat(receipts).isEqualTo(newest);
  }

  private AppUpdates.ConsumerStats statsOnLoop() throws Exception {
    return child.eventLoop().submit(() -> consumer.stats()).get(10, TimeUnit.SECONDS);
  }

  @Test
  void theFilter_dropsOtherPuids_butTheCursorMovesPastThem() throws Exception {
    connect(config(64, 10, 16), "puid-1"::equals);
    long p = join(log.lastSeq(APP));
    onLoop(() -> consumer.startAfter(p));
    publish(10); // puid-0 .. puid-4, twice
    JsonNode f = frame();
    List<String> who = new ArrayList<>();
    f.forEach(u -> who.add(u.get("UID").asText()));
    assertThat(who).containsExactly("puid-1", "puid-1");
    consumer.offerReceipt(new Receipt("mine", "puid-1", "delivered", 1));
    consumer.offerReceipt(new Receipt("theirs", "puid-2", "delivered", 1));
    JsonNode r = frame();
    assertThat(r.get("receipts")).hasSize(1);
    assertThat(r.get("receipts").get(0).get("id").asText()).isEqualTo("mine");
    await().atMost(WAIT).until(() -> consumer.cursor() == p + 10);
  }

  @Test
  void aLogReadThatFails_endsTheConnectionWithSessionAborted() throws Exception {
    connect(config(4, 5, 16), null);
    long p = join(log.lastSeq(APP));
    publish(10);
    consumerLog.failReads = true;
    onLoop(() -> consumer.startAfter(p));
    await().atMost(WAIT).until(() -> !failures.isEmpty());
    assertThat(failures).containsExactly(ErrorCode.SESSION_ABORTED + ": update log unavailable");
  }

  @Test
  void afterClose_nothingIsWritten_andTheHubForgetsTheConsumer() throws Exception {
    connect(config(64, 10, 16), null);
    long p = join(log.lastSeq(APP));
    onLoop(() -> consumer.startAfter(p));
    publish(2);
    assertThat(updatesUntil(p + 2)).isEqualTo(UpdatesFixture.seqs(p + 1, p + 2));
    assertThat(hub.consumerCount()).isEqualTo(1);
    consumer.close();
    assertThat(hub.consumerCount()).isZero();
    publish(2);
    consumer.offerReceipt(new Receipt("late", "puid-1", "delivered", 1));
    consumer.wake();
    onLoop(() -> consumer.pump());
    assertThat(consumer.cursor()).isEqualTo(p + 2);
    assertThat(consumer.queuedReceipts()).isZero();
    await()
        .during(Duration.ofMillis(300))
        .atMost(WAIT)
        .until(() -> client.getInputStream().available() == 0);
  }

  /** Each frame as one line on the channel; a failure is recorded and closes it. */
  private final class LineSink implements UpdateConsumer.Sink {
    private final Channel ch;

    LineSink(Channel ch) {
      this.ch = ch;
    }

    @Override
    public EventExecutor executor() {
      return ch.eventLoop();
    }

    @Override
    public ByteBufAllocator alloc() {
      return ch.alloc();
    }

    @Override
    public boolean writable() {
      return ch.isWritable();
    }

    @Override
    public void send(ByteBuf frame) {
      for (int i = pad; i > 0; i--) {
        frame.writeByte(' ');
      }
      ch.write(frame.writeByte('\n'));
    }

    @Override
    public void flush() {
      ch.flush();
    }

    @Override
    public void fail(ErrorCode code, String detail) {
      failures.add(code + ": " + detail);
      ch.close();
    }

    @Override
    public long pendingBytes() {
      var out = ch.unsafe().outboundBuffer();
      return out == null ? 0 : out.totalPendingWriteBytes();
    }
  }

  /** The log, whose reads can be made to fail (the store down). */
  private static final class FlakyLog implements AppUpdateLog {
    private final AppUpdateLog log;
    volatile boolean failReads;

    FlakyLog(AppUpdateLog log) {
      this.log = log;
    }

    @Override
    public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
      return log.append(appId, updates);
    }

    @Override
    public CompletionStage<Read> readSince(long appId, long since, int limit) {
      return failReads
          ? CompletableFuture.failedFuture(new IllegalStateException("store down"))
          : log.readSince(appId, since, limit);
    }

    @Override
    public CompletionStage<Long> lastSeq(long appId) {
      return log.lastSeq(appId);
    }
  }
}
