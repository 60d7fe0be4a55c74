package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default's queues: in memory, every change in a journal before its ack. The contract
 * runs over it (each {@code reopen} replays the journal), plus crashes: the writer stopped dead,
 * and a record torn in half at the end of the file.
 */
class JournalNotificationQueuesTest extends NotificationQueuesContract {
  @TempDir Path dataDir;
  private JournalNotificationQueues journal;

  @Override
  protected NotificationQueues open() {
    journal = JournalNotificationQueues.open(dataDir);
    return journal;
  }

  @Override
  protected void close() {
    journal.close();
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
    queues = open();
    assertThat(await(queues.pending(u))).containsExactly(kept);
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

  @Test
  void secondOpenOfTheSameDirectory_isRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> JournalNotificationQueues.open(dataDir))
        .hasMessageContaining("in use");
  }
}
