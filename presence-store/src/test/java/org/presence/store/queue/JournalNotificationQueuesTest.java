package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;
import org.slf4j.LoggerFactory;

/**
 * The embedded default's queues: in memory, every change in a journal before its ack. The contract
 * runs over it (each {@code reopen} replays the journal), plus crashes: the writer stopped dead, a
 * record torn in half at the end of the file, a full disk, and damage inside the file.
 */
class JournalNotificationQueuesTest extends NotificationQueuesContract {
  @TempDir Path dataDir;
  private JournalNotificationQueues journal;

  /** The size over which {@link #open} has the journal compacted (once grown enough). */
  private long compactMinBytes = JournalNotificationQueues.COMPACT_MIN_BYTES;

  @Override
  protected NotificationQueues open() {
    journal =
        JournalNotificationQueues.open(
            dataDir, JournalNotificationQueues.DEFAULT_MAX_QUEUED_PER_APP, compactMinBytes);
    return journal;
  }

  @Override
  protected void close() {
    journal.close();
  }

  @Override
  protected NotificationQueues reopenCapped(long maxQueuedPerApp) {
    close();
    journal = JournalNotificationQueues.open(dataDir, maxQueuedPerApp);
    return journal;
  }

  private void crashAndReopen() {
    journal.crash();
    queues = open();
  }

  @Test
  void crash_afterTheAck_keepsEveryAcknowledgedChange() {
    String u = "crash-" + UUID.randomUUID();
    Notification a = note(31, "a");
    Notification b = note(31, "b");
    Notification c = note(32, "c");
    await(
        queues.enqueueAll(
            List.of(
                new NotificationQueues.Entry(u, a),
                new NotificationQueues.Entry(u, b),
                new NotificationQueues.Entry(u, c))));
    assertThat(await(queues.remove(u, Map.of(31L, List.of(a.id()))))).containsExactly(a);
    assertThat(await(queues.claimAnswer("answered", java.time.Instant.now().plusSeconds(60))))
        .isTrue();
    crashAndReopen();
    assertThat(await(queues.pending(u))).containsExactly(b, c);
    assertThat(await(queues.claimAnswer("answered", java.time.Instant.now().plusSeconds(60))))
        .isFalse();
  }

  @Test
  void tornLastRecord_isDropped_andEverythingBeforeItKept() throws IOException {
    String u = "torn-" + UUID.randomUUID();
    Notification kept = note(33, "kept");
    await(queues.enqueue(u, kept));
    journal.crash();
    Path file = dataDir.resolve(JournalNotificationQueues.FILE);
    long before = Files.size(file);
    // Half a record: a length, a checksum and a few bytes of payload, as a cut write leaves.
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.APPEND)) {
      ByteBuffer torn = ByteBuffer.allocate(20);
      torn.putInt(200).putInt(12345).put(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}).flip();
      ch.write(torn);
    }
    assertThat(Files.size(file)).isGreaterThan(before);
    ListAppender<ILoggingEvent> log = captureLog();
    queues = open();
    assertThat(await(queues.pending(u))).containsExactly(kept);
    assertThat(damagedCopies()).isEmpty();
    assertThat(log.list).extracting(ILoggingEvent::getLevel).containsExactly(Level.WARN);
    Notification after = note(33, "after");
    await(queues.enqueue(u, after));
    reopen();
    assertThat(await(queues.pending(u))).containsExactly(kept, after);
  }

  @Test
  void replay_dropsTheSameOldestItems_andCompactionKeepsOnlyWhatIsLive() throws IOException {
    String u = "replay-" + UUID.randomUUID();
    List<Notification> sent = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      Notification n = note(34, "m" + i);
      sent.add(n);
      await(queues.enqueue(u, n));
    }
    await(queues.remove(u, Map.of(34L, List.of(sent.get(60).id()))));
    List<Notification> live = await(queues.pending(u));
    assertThat(live).hasSize(99);
    assertThat(journal.liveItems()).isEqualTo(99);
    reopen();
    assertThat(await(queues.pending(u))).isEqualTo(live);
    // The reopened journal holds the 99 live items only.
    long size = Files.size(dataDir.resolve(JournalNotificationQueues.FILE));
    reopen();
    assertThat(Files.size(dataDir.resolve(JournalNotificationQueues.FILE))).isEqualTo(size);
    assertThat(journal.liveItems()).isEqualTo(99);
  }

  /**
   * Probe s33 F1: the trigger was 4 × 400 B per live item, so live items of legal size (512 emoji
   * and a long link, ~3.6 KB a record) left the journal over it right after a compaction, and every
   * later write rewrote the whole file. It is compacted on growth since the last compaction now.
   */
  @Test
  void largeLiveItems_compactOnce_andNotAgainUntilTheJournalHasDoubled() throws IOException {
    compactMinBytes = 100_000;
    reopen();
    long atOpen = journal.compactions();
    String emoji = "\uD83D\uDE00".repeat(512);
    String link = "https://app.example/open?" + "x".repeat(480);
    // 40 large items to 40 users (so the per-queue bound keeps them all): ~145 KB, over the floor.
    for (int i = 0; i < 40; i++) {
      await(queues.enqueue("big-" + i, large(35, emoji, link)));
    }
    await(queues.enqueue("barrier", note(35, "small")));
    assertThat(journal.compactions()).isEqualTo(atOpen + 1);
    assertThat(journal.liveItems()).isEqualTo(41);
    long compacted = Files.size(file());
    assertThat(compacted).isGreaterThan(100_000);

    // Small writes after it: the journal is still over the floor, but has not grown; no compaction.
    for (int i = 0; i < 20; i++) {
      await(queues.enqueue("small-" + i, note(35, "s" + i)));
    }
    assertThat(journal.compactions()).isEqualTo(atOpen + 1);

    // Once it has more than doubled, it is compacted once more, then not again.
    while (Files.size(file()) <= 2 * compacted) {
      await(queues.enqueue("more-" + UUID.randomUUID(), large(35, emoji, link)));
      assertThat(journal.compactions()).isLessThanOrEqualTo(atOpen + 2);
    }
    for (int i = 0; i < 5; i++) {
      await(queues.enqueue("after-" + i, note(35, "a" + i)));
    }
    assertThat(journal.compactions()).isEqualTo(atOpen + 2);
  }

  private static Notification large(long app, String message, String action) {
    Notification n = note(app, "x");
    return new Notification(
        n.id(), app, n.puid(), n.source(), message, action, n.createdAt(), n.expiresAt(), false);
  }

  @Test
  void secondOpenOfTheSameDirectory_isRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> JournalNotificationQueues.open(dataDir))
        .hasMessageContaining("in use");
  }

  private Path file() {
    return dataDir.resolve(JournalNotificationQueues.FILE);
  }

  private List<Path> damagedCopies() throws IOException {
    try (Stream<Path> files = Files.list(dataDir)) {
      return files
          .filter(
              f ->
                  f.getFileName()
                      .toString()
                      .startsWith(JournalNotificationQueues.FILE + ".damaged-"))
          .toList();
    }
  }

  /** Collects the journal's log lines of WARN and above from now on. */
  private static ListAppender<ILoggingEvent> captureLog() {
    Logger logger = (Logger) LoggerFactory.getLogger(JournalNotificationQueues.class);
    ListAppender<ILoggingEvent> lines =
        new ListAppender<>() {
          @Override
          protected void append(ILoggingEvent e) {
            if (e.getLevel().isGreaterOrEqual(Level.WARN)) {
              super.append(e);
            }
          }
        };
    lines.start();
    logger.addAppender(lines);
    return lines;
  }

  /** What {@code stage} failed with. */
  private static Throwable failure(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("succeeded");
  }

  /**
   * The per-application count is exact: made again from the journal at a restart (and after a
   * crash), and a failed write holds none of the room its refused items took.
   */
  @Test
  void perAppLimit_isCountedAgainAtARestart_andAFailedWriteHoldsNoRoom() throws IOException {
    queues = reopenCapped(3);
    String u = "cap-" + UUID.randomUUID();
    await(queues.enqueue(u, note(51, "k1")));
    await(queues.enqueue(u, note(51, "k2")));
    assertThat(journal.queuedFor(51)).isEqualTo(2);
    journal.limitFileForTests(Files.size(file()));
    assertThat(failure(queues.enqueue(u, note(51, "lost")))).isInstanceOf(StoreException.class);
    journal.limitFileForTests(Long.MAX_VALUE);
    assertThat(journal.queuedFor(51)).isEqualTo(2);
    assertThat(await(queues.enqueue(u, note(51, "k3"))).stored()).isTrue();
    assertThat(await(queues.enqueue(u, note(51, "k4"))).stored()).isFalse();

    close();
    journal = JournalNotificationQueues.open(dataDir, 3);
    queues = journal;
    assertThat(journal.queuedFor(51)).isEqualTo(3);
    assertThat(await(queues.enqueue(u, note(51, "k5"))).stored()).isFalse();
    journal.crash();
    journal = JournalNotificationQueues.open(dataDir, 3);
    queues = journal;
    assertThat(journal.queuedFor(51)).isEqualTo(3);
    await(queues.remove(u, Map.of(51L, List.of(await(queues.pending(u)).get(0).id()))));
    assertThat(await(queues.enqueue(u, note(51, "k6"))).stored()).isTrue();
  }

  @Test
  void fullDisk_failedWrite_leavesMemoryAndFileAsBefore_andLaterRecordsFollowReadably()
      throws IOException {
    String u = "full-" + UUID.randomUUID();
    List<Notification> held = new ArrayList<>();
    long record = 0;
    for (int i = 0; i < 100; i++) {
      Notification n = note(41, "h" + (100 + i));
      held.add(n);
      long before = Files.size(file());
      await(queues.enqueue(u, n));
      record = Files.size(file()) - before;
    }
    long size = Files.size(file());
    // Room for half a record: the write is cut in two.
    journal.limitFileForTests(size + record / 2);
    Throwable refused =
        failure(queues.enqueueAll(List.of(new NotificationQueues.Entry(u, note(41, "x101")))));
    assertThat(refused).isInstanceOf(StoreException.class);
    assertThat(((StoreException) refused).code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    // Nothing of the batch stored: the oldest items it pushed out are back, its own are not.
    assertThat(await(queues.pending(u))).isEqualTo(held);
    assertThat(journal.liveItems()).isEqualTo(100);
    assertThat(Files.size(file())).isEqualTo(size);

    // A removal that cannot be written leaves its item queued.
    journal.limitFileForTests(size);
    assertThat(failure(queues.remove(u, Map.of(41L, List.of(held.get(5).id())))))
        .isInstanceOf(StoreException.class);
    assertThat(await(queues.pending(u))).isEqualTo(held);

    // Space again: the next item follows the last whole record, and replays after a crash.
    journal.limitFileForTests(Long.MAX_VALUE);
    Notification later = note(41, "y101");
    assertThat(await(queues.enqueue(u, later)).dropped()).containsExactly(held.get(0));
    List<Notification> expected = new ArrayList<>(held.subList(1, 100));
    expected.add(later);
    ListAppender<ILoggingEvent> log = captureLog();
    crashAndReopen();
    assertThat(await(queues.pending(u))).isEqualTo(expected);
    assertThat(log.list).isEmpty();
    reopen();
    assertThat(await(queues.pending(u))).isEqualTo(expected);
  }

  @Test
  void fullDisk_aBatchWhoseSecondRecordIsCut_storesNoneOfItsItems_evenIfTheWriterRunsMidBatch()
      throws IOException {
    String u = "batch-" + UUID.randomUUID();
    Notification kept = note(42, "k0");
    long before = Files.size(file());
    await(queues.enqueue(u, kept));
    long size = Files.size(file());
    long record = size - before;
    // Room for a record and a half: the batch's first record fits, its second is cut in two. The
    // writer is made to run between the batch's first and second records (a writer may run at any
    // moment); were it free to take what was handed over, it would write the first record alone,
    // stored, and fail the other two in the next write.
    journal.limitFileForTests(size + record + record / 2);
    journal.yieldInBatchesForTests(true);
    Throwable refused =
        failure(
            queues.enqueueAll(
                List.of(
                    new NotificationQueues.Entry(u, note(42, "x1")),
                    new NotificationQueues.Entry(u, note(42, "x2")),
                    new NotificationQueues.Entry(u, note(42, "x3")))));
    assertThat(refused).isInstanceOf(StoreException.class);
    assertThat(((StoreException) refused).code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    assertThat(await(queues.pending(u))).containsExactly(kept);
    assertThat(journal.liveItems()).isEqualTo(1);
    assertThat(Files.size(file())).isEqualTo(size);

    journal.yieldInBatchesForTests(false);
    journal.limitFileForTests(Long.MAX_VALUE);
    crashAndReopen();
    assertThat(await(queues.pending(u))).containsExactly(kept);
    reopen();
    assertThat(await(queues.pending(u))).containsExactly(kept);
  }

  @Test
  void fullDisk_aRemovalOfSeveralItemsWhoseSecondRecordIsCut_removesNone_evenIfTheWriterRunsMidway()
      throws IOException {
    // removeAll is one transaction: a caller told that it failed sends no receipt, so no item of it
    // may be gone. Were the writer free to take the first removal alone, it would store it.
    String u = "remove-" + UUID.randomUUID();
    Notification decoy = note(47, "decoy");
    await(queues.enqueue(u, decoy));
    List<Notification> items = List.of(note(47, "r1"), note(47, "r2"), note(47, "r3"));
    for (Notification n : items) {
      await(queues.enqueue(u, n));
    }
    long before = Files.size(file());
    await(queues.remove(u, Map.of(47L, List.of(decoy.id()))));
    long size = Files.size(file());
    long record = size - before;
    journal.limitFileForTests(size + record + record / 2);
    journal.yieldInBatchesForTests(true);
    List<String> ids = items.stream().map(Notification::id).toList();
    Throwable refused = failure(queues.removeAll(Map.of(u, Map.of(47L, ids))));
    assertThat(refused).isInstanceOf(StoreException.class);
    assertThat(((StoreException) refused).code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    assertThat(await(queues.pending(u))).isEqualTo(items);
    assertThat(journal.liveItems()).isEqualTo(3);
    assertThat(Files.size(file())).isEqualTo(size);

    journal.yieldInBatchesForTests(false);
    journal.limitFileForTests(Long.MAX_VALUE);
    crashAndReopen();
    assertThat(await(queues.pending(u))).isEqualTo(items);
    // Retried, each item is removed once, and so gets its receipt.
    assertThat(await(queues.removeAll(Map.of(u, Map.of(47L, ids)))).get(u))
        .containsExactlyElementsOf(items);
    reopen();
    assertThat(await(queues.pending(u))).isEmpty();
  }

  @Test
  void fullDisk_anExpiryOfSeveralQueuesWhoseSecondRecordIsCut_dropsNone_evenIfTheWriterRunsMidway()
      throws IOException {
    String u = "expire-" + UUID.randomUUID();
    java.time.Instant longAgo =
        java.time.Instant.now()
            .minus(java.time.Duration.ofDays(40))
            .truncatedTo(java.time.temporal.ChronoUnit.MILLIS); // as the journal keeps it
    java.time.Instant cutoff = longAgo.plus(java.time.Duration.ofDays(10));
    await(queues.enqueue(u, noteAt(50, "decoy", longAgo)));
    long before = Files.size(file());
    assertThat(await(queues.expireIdle(cutoff, 100))).isEqualTo(1);
    long size = Files.size(file());
    long record = size - before;
    List<Notification> items =
        List.of(noteAt(51, "e1", longAgo), noteAt(52, "e2", longAgo), noteAt(53, "e3", longAgo));
    for (Notification n : items) {
      await(queues.enqueue(u, n));
    }
    size = Files.size(file());
    journal.limitFileForTests(size + record + record / 2);
    journal.yieldInBatchesForTests(true);
    Throwable refused = failure(queues.expireIdle(cutoff, 100));
    assertThat(refused).isInstanceOf(StoreException.class);
    assertThat(await(queues.pending(u))).isEqualTo(items);
    assertThat(journal.liveItems()).isEqualTo(3);
    assertThat(Files.size(file())).isEqualTo(size);

    journal.yieldInBatchesForTests(false);
    journal.limitFileForTests(Long.MAX_VALUE);
    crashAndReopen();
    assertThat(await(queues.pending(u))).isEqualTo(items);
    assertThat(await(queues.expireIdle(cutoff, 100))).isEqualTo(3);
    reopen();
    assertThat(await(queues.pending(u))).isEmpty();
  }

  @Test
  void writerStoppedByAnUnexpectedError_refusesEveryChange_insteadOfLeavingThemWaiting() {
    // An error the writer does not handle (here an Error, as running out of memory throws) must
    // not end it silently, leaving the change it held and every later one waiting for ever.
    String u = "writer-" + UUID.randomUUID();
    Notification kept = note(49, "kept");
    await(queues.enqueue(u, kept));
    ListAppender<ILoggingEvent> log = captureLog();
    journal.throwInWriterOnceForTests(new StackOverflowError("thrown by the test"));
    Notification lost = note(49, "lost");
    assertRefused(queues.enqueue(u, lost));
    assertThat(log.list).hasSize(1);
    assertThat(log.list.get(0).getLevel()).isEqualTo(Level.ERROR);
    assertThat(log.list.get(0).getFormattedMessage()).contains("writer stopped");
    // Memory is what the file holds, and every change from now on is refused at once.
    assertThat(await(queues.pending(u))).containsExactly(kept);
    assertThat(assertRefused(queues.enqueue(u, note(49, "later"))))
        .hasMessageContaining("journal failed")
        .hasMessageContaining("until the node restarts");
    assertRefused(queues.remove(u, Map.of(49L, List.of(kept.id()))));
    assertRefused(queues.claimAnswer("answer", java.time.Instant.now().plusSeconds(60)));
    assertThat(await(queues.pending(u))).containsExactly(kept);

    reopen();
    assertThat(await(queues.pending(u))).containsExactly(kept);
    Notification after = note(49, "after");
    await(queues.enqueue(u, after));
    assertThat(await(queues.pending(u))).containsExactly(kept, after);
  }

  private static Throwable assertRefused(CompletionStage<?> stage) {
    Throwable refused = failure(stage);
    assertThat(refused).isInstanceOf(StoreException.class);
    assertThat(((StoreException) refused).code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    return refused;
  }

  @Test
  void aBatchOverTwoUsers_withTheWriterRunningMidBatch_isStoredWhole() {
    String u = "first-" + UUID.randomUUID();
    String v = "second-" + UUID.randomUUID();
    Notification a = note(44, "a");
    await(queues.enqueue(u, a));
    journal.yieldInBatchesForTests(true);
    Notification b = note(44, "b");
    Notification c = note(44, "c");
    Notification d = note(44, "d");
    List<NotificationQueues.Enqueued> done =
        await(
            queues.enqueueAll(
                List.of(
                    new NotificationQueues.Entry(u, b),
                    new NotificationQueues.Entry(v, c),
                    new NotificationQueues.Entry(u, d))));
    assertThat(done).extracting(NotificationQueues.Enqueued::queueSize).containsExactly(2, 1, 3);
    journal.yieldInBatchesForTests(false);
    crashAndReopen();
    assertThat(await(queues.pending(u))).containsExactly(a, b, d);
    assertThat(await(queues.pending(v))).containsExactly(c);
  }

  @Test
  void overlappingBatchesAndRemovals_fromSeveralThreads_replayToWhatMemoryHeld()
      throws InterruptedException {
    // Batches held together while others open and close, single changes between them, full
    // queues dropping their oldest: the journal must still hold each user's changes in order.
    List<String> users = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      users.add("overlap-" + i + "-" + UUID.randomUUID());
    }
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < 4; t++) {
      int seed = t;
      threads.add(
          new Thread(
              () -> {
                java.util.Random r = new java.util.Random(seed);
                try {
                  for (int i = 0; i < 150; i++) {
                    List<NotificationQueues.Entry> batch = new ArrayList<>();
                    int items = 1 + r.nextInt(4);
                    for (int k = 0; k < items; k++) {
                      batch.add(
                          new NotificationQueues.Entry(
                              users.get(r.nextInt(users.size())), note(45, "t" + seed + "-" + i)));
                    }
                    CompletionStage<?> stored = queues.enqueueAll(batch);
                    if (r.nextInt(3) == 0) {
                      NotificationQueues.Entry e = batch.get(0);
                      await(
                          queues.remove(e.userSub(), Map.of(45L, List.of(e.notification().id()))));
                    }
                    await(stored);
                  }
                } catch (Throwable e) {
                  failures.add(e);
                }
              }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(60_000);
    }
    assertThat(failures).isEmpty();
    Map<String, List<Notification>> held = new java.util.HashMap<>();
    for (String u : users) {
      held.put(u, await(queues.pending(u)));
    }
    assertThat(held.values()).anySatisfy(q -> assertThat(q).hasSize(100));
    crashAndReopen();
    for (String u : users) {
      assertThat(await(queues.pending(u))).as(u).isEqualTo(held.get(u));
    }
  }

  @Test
  void overlappingBatchesInAChain_eachIsWrittenOnceClosed_whileTheNextIsStillOpen()
      throws Exception {
    // A chain of overlapping batches, as threads posting back to back make: B hands its first
    // record over while A is open, C while B is, and each closes while the next is open. Each
    // batch's records must be written once it has closed, not when the chain ends (which, under
    // load, it need never do).
    String u = "chain-" + UUID.randomUUID();
    CountDownLatch aHanded = new CountDownLatch(1);
    CountDownLatch bHolding = new CountDownLatch(1);
    CountDownLatch releaseB = new CountDownLatch(1);
    CountDownLatch bHanded = new CountDownLatch(1);
    CountDownLatch cHolding = new CountDownLatch(1);
    CountDownLatch releaseC = new CountDownLatch(1);
    journal.batchStepsForTests(
        i -> {
          String batch = Thread.currentThread().getName();
          if (batch.equals("batch-a") && i == 1) {
            aHanded.countDown();
            awaitLatch(bHolding); // A closes only once B holds the writer
          } else if (batch.equals("batch-b") && i == 0) {
            bHolding.countDown();
            awaitLatch(releaseB);
          } else if (batch.equals("batch-b") && i == 1) {
            bHanded.countDown();
            awaitLatch(cHolding); // B closes only once C holds the writer
          } else if (batch.equals("batch-c") && i == 0) {
            cHolding.countDown();
            awaitLatch(releaseC);
          }
        });
    Notification a0 = note(46, "a0");
    Notification a1 = note(46, "a1");
    Notification b0 = note(46, "b0");
    Notification b1 = note(46, "b1");
    Notification c0 = note(46, "c0");
    Notification c1 = note(46, "c1");
    CompletableFuture<List<NotificationQueues.Enqueued>> a = enqueueOn("batch-a", u, a0, a1);
    assertThat(aHanded.await(10, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<List<NotificationQueues.Enqueued>> b = enqueueOn("batch-b", u, b0, b1);
    assertThat(a.get(10, TimeUnit.SECONDS)).hasSize(2);
    assertThat(b).isNotDone();

    releaseB.countDown();
    assertThat(bHanded.await(10, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<List<NotificationQueues.Enqueued>> c = enqueueOn("batch-c", u, c0, c1);
    assertThat(b.get(10, TimeUnit.SECONDS)).hasSize(2);
    assertThat(c).isNotDone();

    releaseC.countDown();
    assertThat(c.get(10, TimeUnit.SECONDS)).hasSize(2);
    journal.batchStepsForTests(null);
    assertThat(await(queues.pending(u))).containsExactly(a0, a1, b0, b1, c0, c1);
    crashAndReopen();
    assertThat(await(queues.pending(u))).containsExactly(a0, a1, b0, b1, c0, c1);
  }

  /** Enqueues {@code items} for {@code user} as one batch, on a new thread named {@code name}. */
  private CompletableFuture<List<NotificationQueues.Enqueued>> enqueueOn(
      String name, String user, Notification... items) {
    List<NotificationQueues.Entry> entries = new ArrayList<>();
    for (Notification n : items) {
      entries.add(new NotificationQueues.Entry(user, n));
    }
    CompletableFuture<List<NotificationQueues.Enqueued>> done = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try {
                queues
                    .enqueueAll(entries)
                    .whenComplete(
                        (v, e) -> {
                          if (e != null) {
                            done.completeExceptionally(e);
                          } else {
                            done.complete(v);
                          }
                        });
              } catch (Throwable e) {
                done.completeExceptionally(e);
              }
            },
            name);
    t.setDaemon(true);
    t.start();
    return done;
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(20, TimeUnit.SECONDS)) {
        throw new AssertionError("not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The offset of each record in the journal. */
  private List<Integer> records(byte[] bytes) {
    List<Integer> at = new ArrayList<>();
    for (int pos = 0; pos < bytes.length; pos += 8 + ByteBuffer.wrap(bytes, pos, 4).getInt()) {
      at.add(pos);
    }
    return at;
  }

  private void damageSecondRecordAt(int offsetInRecord) throws IOException {
    String u = "damaged-" + UUID.randomUUID();
    List<Notification> sent = new ArrayList<>();
    for (String m : List.of("a", "b", "c", "d")) {
      Notification n = note(43, m);
      sent.add(n);
      await(queues.enqueue(u, n));
    }
    journal.crash();
    byte[] bytes = Files.readAllBytes(file());
    List<Integer> at = records(bytes);
    assertThat(at).hasSize(4);
    bytes[at.get(1) + offsetInRecord] ^= 0x40;
    Files.write(file(), bytes);

    ListAppender<ILoggingEvent> log = captureLog();
    queues = open();
    assertThat(await(queues.pending(u))).containsExactly(sent.get(0), sent.get(2), sent.get(3));
    assertThat(damagedCopies()).hasSize(1);
    assertThat(Files.readAllBytes(damagedCopies().get(0))).isEqualTo(bytes);
    assertThat(log.list).hasSize(1);
    ILoggingEvent line = log.list.get(0);
    assertThat(line.getLevel()).isEqualTo(Level.ERROR);
    assertThat(line.getFormattedMessage())
        .contains((at.get(2) - at.get(1)) + " bytes in 1 region(s) from offset " + at.get(1))
        .contains("2 records after the damage recovered")
        .contains(damagedCopies().get(0).toString());

    // Compaction wrote a clean journal: the next start finds no damage.
    reopen();
    assertThat(await(queues.pending(u))).containsExactly(sent.get(0), sent.get(2), sent.get(3));
    assertThat(damagedCopies()).hasSize(1);
    assertThat(log.list).hasSize(1);
  }

  @Test
  void damagedPayloadMidFile_recordsAfterItRecovered_andTheFileKeptAside() throws IOException {
    damageSecondRecordAt(20);
  }

  @Test
  void damagedLengthMidFile_recordsAfterItRecovered_andTheFileKeptAside() throws IOException {
    damageSecondRecordAt(1);
  }
}
