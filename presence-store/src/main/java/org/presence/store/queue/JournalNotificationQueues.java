package org.presence.store.queue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.IntConsumer;
import java.util.zip.CRC32;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.DataDir;
import org.presence.store.error.StoreException;
import org.presence.store.exec.StoreExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link NotificationQueues} of the embedded default: the queues in memory, every change appended
 * to a journal file in the data directory ({@value #FILE}) before it is acknowledged.
 *
 * <h2>Durability</h2>
 *
 * One writer thread takes whatever changes are waiting and writes them to the file in one call
 * (group commit); only then do the operations that made them complete. An acknowledged enqueue is
 * therefore in the file, as a commit of the embedded H2 database with {@code WRITE_DELAY=0} would
 * be: it survives the process being killed, not an operating-system crash (no {@code fsync} per
 * write; the file is synced when it is compacted and closed). At start the journal is replayed — a
 * torn last record, from a crash in the middle of a write, is dropped — and compacted: the live
 * items are written to a new file, synced and moved over the old one. While the node runs it is
 * compacted again once it is over 64 MiB and over twice its size right after the last compaction,
 * so a compaction rewrites at most as many bytes as were appended since the one before.
 *
 * <p>A write that fails (a full disk) fails its changes and every change handed over after it; its
 * bytes are cut off the file, and memory is put back to what the file holds by replaying it, so a
 * refused enqueue is in neither and the oldest items it would have pushed out are still queued.
 *
 * <p>Damage inside the file (bytes that do not verify, followed by records that do) is not a torn
 * write: the file as found is copied to {@code notifications.journal.damaged-<time>}, every record
 * that verifies after the damage is replayed, and what was skipped is logged at ERROR; compaction
 * then rewrites the journal. docs/operations.md says why this rather than refusing to start.
 *
 * <h2>Concurrency</h2>
 *
 * Each user's queues are changed under that user's lock, and the change's record is handed to the
 * writer under the same lock, so the journal holds each user's changes in the order memory saw
 * them. The records of an enqueue of several items (one or more posts' batches), of a removal and
 * of an expiry of idle queues are written together: while its records are handed over one by one,
 * the writer takes only what was handed over before them, so one write stores or fails them all,
 * and its future (the last record's) tells the truth about each. Overlapping batches hold the
 * writer only up to the first record of the earliest one still open, so a chain of them does not
 * hold it off. Reads see changes as soon as memory has them, a moment before they are in the file;
 * an item delivered in that moment and lost with a crash was never acknowledged to its application.
 * Compaction briefly stops changes (a read-write lock every change takes for reading).
 *
 * <h2>Records</h2>
 *
 * {@code [length int][crc32 int][type byte][fields]}: enqueue (the user key, then the
 * notification), remove (user key, application, id), clear (user key, application), answer (id,
 * expiry). Drop-oldest is not written: replaying the enqueues in order drops the same items.
 */
public final class JournalNotificationQueues implements NotificationQueues, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JournalNotificationQueues.class);

  /** The journal's file name in the data directory. */
  public static final String FILE = "notifications.journal";

  private static final byte ENQUEUE = 1;
  private static final byte REMOVE = 2;
  private static final byte CLEAR = 3;
  private static final byte ANSWER = 4;

  /** The journal is compacted when it is over this size ... */
  static final long COMPACT_MIN_BYTES = 64L << 20;

  /**
   * ... and over this many times its size right after the last compaction (what was live then).
   * Growth, not an estimate of an item's size: live items of any size (a record of a legal item
   * takes 0.2–3.7 KB) leave the journal under the threshold right after a compaction, so the next
   * write cannot compact again, and every byte a compaction rewrites was paid for by at least as
   * many appended since the last one.
   */
  private static final long COMPACT_GROWTH = 2;

  /** Longest record accepted on replay; a longer length means a torn or corrupt tail. */
  private static final int MAX_RECORD = 1 << 20;

  /** Journals open in this process. */
  private static final Set<Path> OPEN = ConcurrentHashMap.newKeySet();

  /** One user's queues, by application; guarded by itself. */
  private static final class UserQueues {
    final Map<Long, ArrayDeque<Notification>> byApp = new HashMap<>();
  }

  /** A record waiting for the writer, and what to complete once it is written. */
  private record Pending(byte[] record, CompletableFuture<Void> written) {}

  private final Path file;
  private final ConcurrentHashMap<String, UserQueues> users = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> answers = new ConcurrentHashMap<>();
  private final ReentrantReadWriteLock compaction = new ReentrantReadWriteLock();
  private final Object pendingLock = new Object();
  private final ExecutorService acks;
  private final Thread writer;
  private ArrayList<Pending> pending = new ArrayList<>();

  /** Several records handed over as one (see {@link #openBatch}); guarded by pendingLock. */
  private static final class Batch {
    /** Where the batch's first record is in {@link #pending}; -1 until it hands one over. */
    int from = -1;

    /** Where its last record so far is in {@link #pending}. */
    int last = -1;
  }

  /**
   * The open batches that have handed records over, in the order of their first records in {@link
   * #pending}: the writer takes every record before the first one's, and nothing from there on.
   * Holds at most one batch per thread handing records over; guarded, with {@link #pending}, by
   * {@link #pendingLock}.
   */
  private final ArrayDeque<Batch> holding = new ArrayDeque<>();

  /** How many times the writer found nothing it may take and waited; guarded by pendingLock. */
  private long writerWaits;

  /**
   * The records the writer has taken from {@link #pending} and not yet handed to be completed, so
   * that a writer stopped by an unexpected error completes them too; writer only.
   */
  private ArrayList<Pending> inHand = new ArrayList<>();

  /** Whether {@link #inHand}'s records are in the file; writer only. */
  private boolean inHandStored;

  private FileChannel channel;
  private FileChannel lockChannel;
  private boolean locked;
  private FileLock fileLock;

  /** The journal's length: every byte of it was written whole. */
  private long journalBytes;

  /** The journal's length right after the last compaction; writer (or open) only. */
  private long compactedBytes;

  /** Compactions since open, the one at open included ({@link #compactions()}). */
  private final java.util.concurrent.atomic.AtomicLong compactions =
      new java.util.concurrent.atomic.AtomicLong();

  /** The size under which the journal is not compacted: {@link #COMPACT_MIN_BYTES} but in tests. */
  private final long compactMinBytes;

  private final java.util.concurrent.atomic.AtomicLong liveItems =
      new java.util.concurrent.atomic.AtomicLong();

  /** Most items one application may have queued ({@link #enqueueAll}). */
  private final long maxQueuedPerApp;

  /**
   * Items queued per application, exact: taken before an item goes in (so concurrent posts of one
   * application never pass the limit together), given back as items leave, and counted again from
   * the queues at each compaction and after a failed write. An application's entry stays once made
   * (one per application, not per queue), so a count is never lost to a removed entry.
   */
  private volatile ConcurrentHashMap<Long, java.util.concurrent.atomic.AtomicLong> queuedByApp =
      new ConcurrentHashMap<>();

  private volatile boolean closing;
  private boolean crashed;

  /** The file may hold a failed write's bytes after {@link #journalBytes}; writer only. */
  private boolean cut;

  /**
   * Memory could not be put back after a failed write, or the writer stopped: every change is
   * refused.
   */
  private volatile boolean failed;

  /** For tests: the file may not grow past this, as on a full disk. */
  private volatile long fileLimitForTests = Long.MAX_VALUE;

  /** For tests: after a batch's first record, let the writer run (see letWriterTakeForTests). */
  private volatile boolean yieldInBatchesForTests;

  /** For tests: told, on the handing thread, the index of each record a batch handed over. */
  private volatile IntConsumer batchStepsForTests;

  /** For tests: thrown once by the writer, after it takes records and before it writes them. */
  private volatile Throwable throwInWriterForTests;

  private JournalNotificationQueues(Path file, long maxQueuedPerApp, long compactMinBytes) {
    if (maxQueuedPerApp < 1) {
      throw new IllegalArgumentException("maxQueuedPerApp must be at least 1");
    }
    this.file = file;
    this.maxQueuedPerApp = maxQueuedPerApp;
    this.compactMinBytes = compactMinBytes;
    this.acks = Executors.newFixedThreadPool(2, StoreExecutors.named("store-journal-ack-"));
    this.writer = new Thread(this::writeLoop, "store-journal");
    this.writer.setDaemon(true);
  }

  /** Opens (creating if needed) the journal in {@code dataDir}, replays and compacts it. */
  public static JournalNotificationQueues open(Path dataDir) {
    return open(dataDir, DEFAULT_MAX_QUEUED_PER_APP);
  }

  /**
   * {@link #open(Path)}, refusing items of an application that has {@code maxQueuedPerApp} queued.
   */
  public static JournalNotificationQueues open(Path dataDir, long maxQueuedPerApp) {
    return open(dataDir, maxQueuedPerApp, COMPACT_MIN_BYTES);
  }

  /**
   * {@link #open(Path, long)}, the journal compacted once over {@code compactMinBytes} (and grown
   * enough) rather than {@link #COMPACT_MIN_BYTES}: tests compact small journals.
   */
  static JournalNotificationQueues open(Path dataDir, long maxQueuedPerApp, long compactMinBytes) {
    JournalNotificationQueues q =
        new JournalNotificationQueues(dataDir.resolve(FILE), maxQueuedPerApp, compactMinBytes);
    try {
      DataDir.secure(dataDir);
      q.lock();
      q.replay();
      q.compact();
    } catch (IOException e) {
      q.acks.shutdownNow();
      q.unlock();
      throw new UncheckedIOException(
          "cannot open the notification journal " + q.file + ": " + e.getMessage(), e);
    }
    q.writer.start();
    return q;
  }

  /** Takes the data directory's journal lock for this process's lifetime. */
  private void lock() throws IOException {
    // A second channel on the file in this process could not be closed without dropping the
    // first one's lock (POSIX locks are per process): refuse before opening one.
    if (!OPEN.add(file.toAbsolutePath())) {
      throw new IOException("the journal is in use by this process");
    }
    locked = true;
    lockChannel =
        FileChannel.open(
            file.resolveSibling(FILE + ".lock"),
            Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
            DataDir.privateFile(file.getParent()));
    fileLock = lockChannel.tryLock();
    if (fileLock == null) {
      throw new IOException("the journal is in use by another process");
    }
  }

  private void unlock() {
    if (!locked) {
      return;
    }
    locked = false;
    OPEN.remove(file.toAbsolutePath());
    try {
      if (fileLock != null && fileLock.isValid()) {
        fileLock.release();
      }
      if (lockChannel != null) {
        lockChannel.close();
      }
    } catch (IOException e) {
      LOG.debug("releasing the journal lock: {}", e.toString());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Records

  private static byte[] record(byte type, RecordBody body) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(type);
      body.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] payload = bytes.toByteArray();
    CRC32 crc = new CRC32();
    crc.update(payload);
    ByteBuffer framed = ByteBuffer.allocate(8 + payload.length);
    framed.putInt(payload.length).putInt((int) crc.getValue()).put(payload);
    return framed.array();
  }

  @FunctionalInterface
  private interface RecordBody {
    void write(DataOutputStream out) throws IOException;
  }

  private static void writeNotification(DataOutputStream out, Notification n) throws IOException {
    out.writeUTF(n.id());
    out.writeLong(n.appId());
    out.writeUTF(n.puid());
    out.writeUTF(n.source());
    out.writeUTF(n.message());
    out.writeUTF(n.action());
    out.writeLong(n.createdAt().toEpochMilli());
    out.writeLong(n.expiresAt().toEpochMilli());
    out.writeBoolean(n.receipts());
  }

  private static Notification readNotification(DataInputStream in) throws IOException {
    return new Notification(
        in.readUTF(),
        in.readLong(),
        in.readUTF(),
        in.readUTF(),
        in.readUTF(),
        in.readUTF(),
        Instant.ofEpochMilli(in.readLong()),
        Instant.ofEpochMilli(in.readLong()),
        in.readBoolean());
  }

  // ---------------------------------------------------------------------------------------------
  // Replay and compaction (single-threaded: at open, or by the writer with changes stopped)

  /** What a replay found beside the records it applied. */
  private record Replayed(long skipped, int regions, long firstDamage, long recovered, long tail) {}

  /**
   * Replays the first {@code size} bytes of the journal into {@code into} and {@code intoAnswers}.
   * A record that does not verify (its length or checksum) starts a damaged region, which ends at
   * the next record that verifies and is followed by another (or by the end, or a torn last
   * record): the records after it are replayed too. Damage with no such record after it is a tail
   * torn by a crash mid-write.
   */
  private Replayed load(long size, Map<String, UserQueues> into, Map<String, Long> intoAnswers)
      throws IOException {
    long pos = 0;
    long skipped = 0;
    int regions = 0;
    long firstDamage = -1;
    long recovered = 0;
    long tail = 0;
    try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
      Reader r = new Reader(in, size);
      while (pos < size) {
        int length = r.verified(pos);
        if (length > 0) {
          apply(r.copy(pos + 8, length), into, intoAnswers);
          if (regions > 0) {
            recovered++;
          }
          pos += 8 + length;
          continue;
        }
        long next = r.resync(pos + 1);
        if (next < 0) {
          tail = size - pos;
          break;
        }
        if (regions == 0) {
          firstDamage = pos;
        }
        regions++;
        skipped += next - pos;
        pos = next;
      }
    }
    return new Replayed(skipped, regions, firstDamage, recovered, tail);
  }

  /** Replays the journal at open; a damaged one is copied aside first (compaction follows). */
  private void replay() throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    Replayed r = load(Files.size(file), users, answers);
    if (r.regions() > 0) {
      Path copy = keepDamagedCopy();
      LOG.error(
          "notification journal {}: damaged: {} bytes in {} region(s) from offset {} did not"
              + " verify and were skipped, {} records after the damage recovered; what the"
              + " skipped bytes held is lost. The file as found is kept in {} (see"
              + " docs/operations.md)",
          file,
          r.skipped(),
          r.regions(),
          r.firstDamage(),
          r.recovered(),
          copy);
    }
    if (r.tail() > 0) {
      LOG.warn(
          "notification journal {}: ignoring {} bytes after the last whole record (a write cut"
              + " short by a crash)",
          file,
          r.tail());
    }
  }

  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  /**
   * Copies the journal to {@code notifications.journal.damaged-<UTC time>} beside it (mode 0600: it
   * holds what the journal does), before compaction rewrites it.
   */
  private Path keepDamagedCopy() throws IOException {
    String name = FILE + ".damaged-" + STAMP.format(Instant.now());
    for (int i = 0; ; i++) {
      Path copy = file.resolveSibling(i == 0 ? name : name + "-" + i);
      try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ);
          FileChannel out =
              FileChannel.open(
                  copy,
                  Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                  DataDir.privateFile(file.getParent()))) {
        try {
          long n = in.size();
          for (long done = 0; done < n; ) {
            done += in.transferTo(done, n - done, out);
          }
          out.force(true);
        } catch (IOException e) {
          Files.deleteIfExists(copy);
          throw new IOException(
              "it is damaged and a copy of it could not be kept (" + e.getMessage() + ")", e);
        }
        return copy;
      } catch (FileAlreadyExistsException e) {
        // Two damaged starts in one second: the next name.
      }
    }
  }

  /** Bytes of the journal read at a time. */
  private static final int WINDOW = 4 << 20;

  /** Reads a journal through a window of its bytes: forward, and byte by byte past damage. */
  private static final class Reader {
    private final FileChannel in;
    private final long size;
    private ByteBuffer window = ByteBuffer.allocate(0);
    private long start;

    Reader(FileChannel in, long size) {
      this.in = in;
      this.size = size;
    }

    /** {@code length} bytes at {@code pos} (inside the file); valid until the next call. */
    private ByteBuffer at(long pos, int length) throws IOException {
      if (pos < start || pos + length > start + window.limit()) {
        int want = (int) Math.min(size - pos, Math.max(length, WINDOW));
        if (window.capacity() < want) {
          window = ByteBuffer.allocate(want);
        }
        window.clear().limit(want);
        while (window.hasRemaining()) {
          if (in.read(window, pos + window.position()) < 0) {
            throw new EOFException("the journal shrank while it was read");
          }
        }
        window.flip();
        start = pos;
      }
      return window.duplicate().position((int) (pos - start)).limit((int) (pos - start + length));
    }

    byte[] copy(long pos, int length) throws IOException {
      byte[] out = new byte[length];
      at(pos, length).get(out);
      return out;
    }

    /** The length of the record at {@code pos} if it is whole and verifies, else -1. */
    int verified(long pos) throws IOException {
      if (pos + 8 > size) {
        return -1;
      }
      ByteBuffer head = at(pos, 8);
      int length = head.getInt();
      int crc = head.getInt();
      if (length <= 0 || length > MAX_RECORD || pos + 8 + length > size) {
        return -1;
      }
      CRC32 check = new CRC32();
      check.update(at(pos + 8, length));
      return (int) check.getValue() == crc ? length : -1;
    }

    /** Whether what starts at {@code pos} is a record cut short by the end of the file. */
    private boolean tornAt(long pos) throws IOException {
      if (pos + 8 > size) {
        return true;
      }
      int length = at(pos, 8).getInt();
      return length > 0 && length <= MAX_RECORD && pos + 8 + length > size;
    }

    /**
     * The first position from {@code from} where a record verifies and is followed by the end, a
     * record that verifies or a torn last record; -1 if none. A checksum alone would let one
     * position in four billion pass by chance; asking the same of what follows makes a false start
     * after damage as good as impossible.
     */
    long resync(long from) throws IOException {
      for (long pos = from; pos + 8 <= size; pos++) {
        int length = verified(pos);
        if (length > 0) {
          long next = pos + 8 + length;
          if (next == size || verified(next) > 0 || tornAt(next)) {
            return pos;
          }
        }
      }
      return -1;
    }
  }

  /** Replays one record into {@code users} and {@code answers}. */
  private static void apply(
      byte[] payload, Map<String, UserQueues> users, Map<String, Long> answers) throws IOException {
    DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(payload));
    byte type = in.readByte();
    switch (type) {
      case ENQUEUE -> {
        String key = in.readUTF();
        Notification n = readNotification(in);
        ArrayDeque<Notification> q =
            users
                .computeIfAbsent(key, k -> new UserQueues())
                .byApp
                .computeIfAbsent(n.appId(), a -> new ArrayDeque<>());
        q.addLast(n);
        if (q.size() > CAPACITY) {
          q.pollFirst();
        }
      }
      case REMOVE -> {
        String key = in.readUTF();
        long app = in.readLong();
        String id = in.readUTF();
        UserQueues u = users.get(key);
        if (u != null && u.byApp.containsKey(app)) {
          u.byApp.get(app).removeIf(n -> n.id().equals(id));
          dropEmpty(users, key, u, app);
        }
      }
      case CLEAR -> {
        String key = in.readUTF();
        long app = in.readLong();
        UserQueues u = users.get(key);
        if (u != null) {
          u.byApp.remove(app);
          dropEmpty(users, key, u, app);
        }
      }
      case ANSWER -> answers.put(in.readUTF(), in.readLong());
      default -> throw new EOFException("unknown record type " + type);
    }
  }

  /** Forgets an emptied queue, and an emptied user (caller holds the user's lock or is alone). */
  private void dropEmpty(String key, UserQueues u, long app) {
    dropEmpty(users, key, u, app);
  }

  private static void dropEmpty(Map<String, UserQueues> users, String key, UserQueues u, long app) {
    ArrayDeque<Notification> q = u.byApp.get(app);
    if (q != null && q.isEmpty()) {
      u.byApp.remove(app);
    }
    if (u.byApp.isEmpty()) {
      users.remove(key, u);
    }
  }

  /** Writes the live items (and answers) to a new file and moves it over the journal. */
  private void compact() throws IOException {
    Path tmp = file.resolveSibling(FILE + ".tmp");
    long bytes = 0;
    long items = 0;
    Map<Long, Long> byApp = new HashMap<>();
    long now = System.currentTimeMillis();
    try (FileChannel out =
        FileChannel.open(
            tmp,
            Set.of(
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING),
            DataDir.privateFile(file.getParent()))) {
      List<ByteBuffer> chunk = new ArrayList<>();
      int chunkBytes = 0;
      for (Map.Entry<String, UserQueues> u : users.entrySet()) {
        synchronized (u.getValue()) {
          for (Map.Entry<Long, ArrayDeque<Notification>> q : u.getValue().byApp.entrySet()) {
            byApp.merge(q.getKey(), (long) q.getValue().size(), Long::sum);
            for (Notification n : q.getValue()) {
              byte[] r =
                  record(
                      ENQUEUE,
                      o -> {
                        o.writeUTF(u.getKey());
                        writeNotification(o, n);
                      });
              chunk.add(ByteBuffer.wrap(r));
              chunkBytes += r.length;
              bytes += r.length;
              items++;
            }
          }
        }
        if (chunkBytes > (1 << 20)) {
          writeAll(out, chunk);
          chunk.clear();
          chunkBytes = 0;
        }
      }
      for (Map.Entry<String, Long> a : answers.entrySet()) {
        if (a.getValue() < now) {
          continue;
        }
        byte[] r =
            record(
                ANSWER,
                o -> {
                  o.writeUTF(a.getKey());
                  o.writeLong(a.getValue());
                });
        chunk.add(ByteBuffer.wrap(r));
        bytes += r.length;
      }
      writeAll(out, chunk);
      out.force(true);
    } catch (IOException | RuntimeException e) {
      // A full disk: the journal stays as it was, and the part written is given back.
      Files.deleteIfExists(tmp);
      throw e;
    }
    if (channel != null) {
      channel.close();
    }
    try {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      // Moved or not, appends go on to the file named FILE (the old one if the move failed).
      channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }
    syncDirectory();
    journalBytes = bytes;
    compactedBytes = bytes;
    compactions.incrementAndGet();
    cut = false;
    liveItems.set(items);
    recount(byApp);
  }

  /** Sets the per-application counts (changes stopped: compaction's write lock is held). */
  private void recount(Map<Long, Long> byApp) {
    ConcurrentHashMap<Long, java.util.concurrent.atomic.AtomicLong> counts =
        new ConcurrentHashMap<>();
    byApp.forEach((app, n) -> counts.put(app, new java.util.concurrent.atomic.AtomicLong(n)));
    queuedByApp = counts;
  }

  /**
   * Takes room for one item of {@code app}; false when it already has {@link #maxQueuedPerApp}
   * queued.
   */
  private boolean reserve(long app) {
    java.util.concurrent.atomic.AtomicLong c =
        queuedByApp.computeIfAbsent(app, a -> new java.util.concurrent.atomic.AtomicLong());
    while (true) {
      long n = c.get();
      if (n >= maxQueuedPerApp) {
        return false;
      }
      if (c.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Gives back the room of {@code n} items of {@code app} that left their queues. */
  private void released(long app, long n) {
    if (n > 0) {
      java.util.concurrent.atomic.AtomicLong c = queuedByApp.get(app);
      if (c != null) {
        c.addAndGet(-n);
      }
    }
  }

  /** Items {@code app} has queued, for tests. */
  long queuedFor(long app) {
    java.util.concurrent.atomic.AtomicLong c = queuedByApp.get(app);
    return c == null ? 0 : c.get();
  }

  /** Whether the journal has grown enough since the last compaction to compact it now. */
  private boolean grownPastCompaction() {
    return journalBytes > compactMinBytes && journalBytes > COMPACT_GROWTH * compactedBytes;
  }

  private void syncDirectory() {
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not every platform lets a directory be synced; the move itself is atomic.
    }
  }

  private static void writeAll(FileChannel out, List<ByteBuffer> buffers) throws IOException {
    ByteBuffer[] array = buffers.toArray(ByteBuffer[]::new);
    long left = 0;
    for (ByteBuffer b : array) {
      left += b.remaining();
    }
    while (left > 0) {
      left -= out.write(array);
    }
  }

  private void releaseFile() throws IOException {
    try {
      channel.close();
    } finally {
      unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The writer

  /** Hands a record to the writer; {@code written} completes once it is in the file. */
  private void append(byte[] record, CompletableFuture<Void> written) {
    append(null, record, written);
  }

  /** Hands a record to the writer, as one of {@code batch}'s records unless that is null. */
  private void append(Batch batch, byte[] record, CompletableFuture<Void> written) {
    synchronized (pendingLock) {
      if (batch != null && batch.from < 0) {
        // Its first record: from here on the writer takes nothing until the batch closes. The
        // batches holding before it have their first records earlier: the order stays.
        batch.from = pending.size();
        holding.addLast(batch);
      }
      if (batch != null) {
        batch.last = pending.size();
      }
      pending.add(new Pending(record, written));
      if (holding.isEmpty() && pending.size() == 1) {
        pendingLock.notifyAll(); // the writer had nothing it could take
      }
    }
  }

  /** How many of {@link #pending}'s records the writer may take now (caller holds the lock). */
  private int takeable() {
    Batch first = holding.peekFirst();
    return first == null ? pending.size() : first.from;
  }

  /**
   * Opens a batch: from its first record handed over (through {@link #append(Batch, byte[],
   * CompletableFuture)}) until {@link #closeBatch}, the writer takes none of its records, so that
   * it takes them together, in one write that stores or fails them all. It still takes every record
   * before the first of the earliest batch holding, so a batch waits only for the batches that had
   * handed a record over before its own last one (at most one per thread handing records over at
   * once), never for one that begins after it closed: batches that keep overlapping do not hold the
   * writer off. Other changes' records handed over after a batch's first wait with it (the writer
   * takes a prefix of {@link #pending}, so each user's records stay in the order memory saw them).
   * A batch is open only while its caller changes memory and hands records over (no I/O), under the
   * compaction read lock: compaction and the failed-write path, which take {@link #pending} whole
   * under the write lock, never find one open, and neither does the writer once {@link #closing} is
   * set.
   */
  private static Batch openBatch() {
    return new Batch();
  }

  /** Closes a batch {@link #openBatch} opened: the writer may take its records. */
  private void closeBatch(Batch batch) {
    closeBatch(batch, null);
  }

  /**
   * Closes a batch {@link #openBatch} opened, {@code written} (unless null) to complete once its
   * records are in the file: the future of its last record, which the writer cannot have taken.
   * Returns whether the batch handed any record over.
   */
  private boolean closeBatch(Batch batch, CompletableFuture<Void> written) {
    synchronized (pendingLock) {
      if (batch.from < 0) {
        return false; // it handed nothing over
      }
      if (written != null) {
        Pending last = pending.get(batch.last);
        pending.set(batch.last, new Pending(last.record(), written));
      }
      boolean wasFirst = holding.peekFirst() == batch;
      holding.removeFirstOccurrence(batch);
      if (wasFirst && takeable() > 0) {
        pendingLock.notifyAll();
      }
      return true;
    }
  }

  /**
   * For tests: wakes the writer and waits (up to 10 s) until it has taken and written whatever it
   * would take now and waits for more.
   */
  private void letWriterTakeForTests() {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    synchronized (pendingLock) {
      long waits = writerWaits;
      pendingLock.notifyAll();
      while (writerWaits == waits && System.nanoTime() < end) {
        try {
          pendingLock.wait(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /**
   * The writer's thread. Whatever it does not expect (an {@link Error}, a bug) does not end it
   * silently, which would leave every later change waiting for ever: {@link #writerFailed} refuses
   * the changes waiting and every change from then on.
   */
  private void writeLoop() {
    try {
      writeUntilClosed();
    } catch (Throwable t) {
      writerFailed(t);
    }
  }

  private void writeUntilClosed() {
    while (true) {
      ArrayList<Pending> batch;
      synchronized (pendingLock) {
        while (takeable() == 0 && !closing) {
          writerWaits++;
          try {
            pendingLock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        if (pending.isEmpty()) {
          return;
        }
        // Closing, no batch is open: takeable() is everything.
        int n = takeable();
        if (n == pending.size()) {
          batch = pending;
          pending = new ArrayList<>();
        } else {
          // What came before the first batch holding; its records (and what followed) wait.
          List<Pending> taken = pending.subList(0, n);
          batch = new ArrayList<>(taken);
          taken.clear();
        }
        for (Batch b : holding) {
          b.from -= n;
          b.last -= n;
        }
        inHand = batch;
        inHandStored = false;
      }
      Throwable boom = throwInWriterForTests;
      if (boom != null) {
        throwInWriterForTests = null;
        throwUnchecked(boom);
      }
      write(batch);
      if (!closing && grownPastCompaction()) {
        compactWhileRunning();
      }
    }
  }

  private void write(ArrayList<Pending> batch) {
    inHand = batch;
    inHandStored = false;
    List<ByteBuffer> buffers = new ArrayList<>(batch.size());
    long bytes = 0;
    for (Pending p : batch) {
      buffers.add(ByteBuffer.wrap(p.record()));
      bytes += p.record().length;
    }
    Throwable failure = null;
    try {
      if (crashed) {
        throw new IOException("journal closed");
      }
      if (cut) {
        channel.truncate(journalBytes);
        cut = false;
      }
      appendToFile(buffers, bytes);
      journalBytes += bytes;
      inHandStored = true;
    } catch (IOException | RuntimeException e) {
      LOG.error(
          "notification journal {}: write failed; the changes waiting for it are refused and the"
              + " queues in memory go back to what the file holds",
          file,
          e);
      failure =
          new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "notification journal write failed", e);
    }
    if (failure != null && !crashed) {
      rollBack(); // adds the changes handed over since to inHand
    }
    Throwable f = failure;
    List<Pending> done = inHand;
    for (Pending p : done) {
      if (p.written() != null) {
        // Completions run the callers' next steps: not on the writer, which has more to write.
        acks.execute(
            () -> {
              if (f == null) {
                p.written().complete(null);
              } else {
                p.written().completeExceptionally(f);
              }
            });
      }
    }
    inHand = new ArrayList<>();
  }

  /**
   * The writer met an error it does not handle: it logs it, refuses every change from now on (as
   * {@link #failed} does: {@code BACKEND_UNAVAILABLE}, until a restart), puts memory back to what
   * the file holds as after a failed write, and completes every change it or {@link #pending}
   * holds: those already in the file as written, the others refused. Then the writer ends.
   */
  private void writerFailed(Throwable t) {
    StoreException refused =
        new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "notification journal writer stopped", t);
    // What the writer had taken: in the file if its write went through, else refused with the
    // rest, which rollBack and the drain below gather in a new inHand.
    List<Pending> taken = inHand;
    boolean stored = inHandStored;
    inHand = new ArrayList<>();
    // Under the write lock no change is between its check of failed and its hand-over: none
    // hands a record over after the ones completed here.
    compaction.writeLock().lock();
    try {
      failed = true;
      LOG.error(
          "notification journal {}: the writer stopped on an unexpected error; the changes"
              + " waiting for it and every change from now on are refused until the node is"
              + " restarted",
          file,
          t);
      if (!crashed) {
        rollBack(); // cuts off what a broken write left, puts memory back, takes pending
      }
    } catch (Throwable e) {
      t.addSuppressed(e);
    } finally {
      try {
        synchronized (pendingLock) {
          inHand.addAll(pending);
          pending = new ArrayList<>();
          holding.clear();
        }
      } finally {
        compaction.writeLock().unlock();
      }
    }
    // Completed here, not on acks: it may be what failed, and the writer has nothing left to do.
    for (Pending p : taken) {
      if (p.written() != null) {
        if (stored) {
          p.written().complete(null);
        } else {
          p.written().completeExceptionally(refused);
        }
      }
    }
    for (Pending p : inHand) {
      if (p.written() != null) {
        p.written().completeExceptionally(refused);
      }
    }
    inHand = new ArrayList<>();
  }

  private static void throwUnchecked(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException(t);
  }

  /**
   * Appends a batch's records. The test limit stands for a full disk: what fits is written (a
   * record may be cut in two, as by a real {@code ENOSPC}), then the write fails.
   */
  private void appendToFile(List<ByteBuffer> buffers, long bytes) throws IOException {
    if (fileLimitForTests == Long.MAX_VALUE) {
      writeAll(channel, buffers);
      return;
    }
    long room = fileLimitForTests - channel.size();
    if (bytes <= room) {
      writeAll(channel, buffers);
      return;
    }
    List<ByteBuffer> fits = new ArrayList<>();
    for (ByteBuffer b : buffers) {
      if (room <= 0) {
        break;
      }
      ByteBuffer part = b.duplicate();
      part.limit(part.position() + (int) Math.min(part.remaining(), room));
      room -= part.remaining();
      fits.add(part);
    }
    writeAll(channel, fits);
    throw new IOException("No space left on device (test limit)");
  }

  /**
   * After a failed write, with changes stopped: cuts what the write left off the file, fails the
   * changes handed over since (memory already shows them, over the failed ones) and puts memory
   * back to what the file holds, so that memory shows neither and a later compaction does not write
   * them. Replaying the file rather than undoing each change also gives back, in order, the oldest
   * items the failed enqueues pushed out and the items failed removals took. Adds the changes it
   * fails to {@link #inHand}.
   */
  private void rollBack() {
    compaction.writeLock().lock();
    try {
      synchronized (pendingLock) {
        inHand.addAll(pending);
        pending = new ArrayList<>();
      }
      try {
        channel.truncate(journalBytes);
        cut = false;
      } catch (IOException | RuntimeException e) {
        // The next write cuts them first, or fails: nothing is appended after them.
        cut = true;
        LOG.error("notification journal {}: cannot cut off the failed write's bytes yet", file, e);
      }
      Map<String, UserQueues> back = new HashMap<>();
      Map<String, Long> backAnswers = new HashMap<>();
      try {
        Replayed r = load(journalBytes, back, backAnswers);
        if (r.regions() > 0 || r.tail() > 0) {
          LOG.error(
              "notification journal {}: reading it back after a failed write, {} bytes did not"
                  + " verify and were skipped; what they held is no longer queued",
              file,
              r.skipped() + r.tail());
        }
      } catch (IOException | RuntimeException e) {
        failed = true;
        LOG.error(
            "notification journal {}: cannot read it back after a failed write; every change is"
                + " refused until the node is restarted",
            file,
            e);
        return;
      }
      users.keySet().retainAll(back.keySet());
      users.putAll(back);
      answers.keySet().retainAll(backAnswers.keySet());
      answers.putAll(backAnswers);
      long items = 0;
      Map<Long, Long> byApp = new HashMap<>();
      for (UserQueues u : back.values()) {
        for (Map.Entry<Long, ArrayDeque<Notification>> q : u.byApp.entrySet()) {
          items += q.getValue().size();
          byApp.merge(q.getKey(), (long) q.getValue().size(), Long::sum);
        }
      }
      liveItems.set(items);
      recount(byApp);
    } finally {
      compaction.writeLock().unlock();
    }
  }

  /** Compacts with changes stopped, after writing what was handed over before they stopped. */
  private void compactWhileRunning() {
    compaction.writeLock().lock();
    try {
      ArrayList<Pending> rest;
      synchronized (pendingLock) {
        rest = pending;
        pending = new ArrayList<>();
      }
      if (!rest.isEmpty()) {
        write(rest);
      }
      compact();
    } catch (IOException e) {
      LOG.error("notification journal {}: compaction failed; the journal keeps growing", file, e);
    } finally {
      compaction.writeLock().unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Operations

  private UserQueues user(String key) {
    return users.computeIfAbsent(key, k -> new UserQueues());
  }

  /**
   * Why the journal refuses every change until the node restarts (its writer stopped, or a failed
   * write could not be read back), or null while it takes changes: the node's heartbeat shows it.
   */
  public String problem() {
    return failed && !closing
        ? "notification journal failed (see the node's log); changes are refused until the node"
            + " restarts"
        : null;
  }

  /** The answer to a change while the journal is closing or has failed (until a restart). */
  private CompletionStage<Void> closedFailure() {
    return CompletableFuture.failedFuture(
        new StoreException(
            ErrorCode.BACKEND_UNAVAILABLE, closing ? "notification journal closed" : problem()));
  }

  @Override
  public CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    int count = entries.size();
    String[] keys = new String[count];
    byte[][] records = new byte[count][];
    for (int i = 0; i < count; i++) {
      String key = UserKeys.of(entries.get(i).userSub());
      Notification n = entries.get(i).notification();
      keys[i] = key;
      records[i] =
          record(
              ENQUEUE,
              o -> {
                o.writeUTF(key);
                writeNotification(o, n);
              });
    }
    List<Enqueued> out = new ArrayList<>(count);
    CompletableFuture<Void> written = new CompletableFuture<>();
    compaction.readLock().lock();
    try {
      if (closing || failed) {
        return closedFailure().thenApply(v -> List.of());
      }
      // Room first, for each item in order (an application's items beyond its limit are not
      // queued); given back as items leave, and counted again from the queues after a failed
      // write, so a refused write holds none.
      boolean[] admitted = new boolean[count];
      int last = -1;
      int admittedCount = 0;
      for (int i = 0; i < count; i++) {
        if (reserve(entries.get(i).notification().appId())) {
          admitted[i] = true;
          last = i;
          admittedCount++;
        }
      }
      if (admittedCount == 0) {
        return CompletableFuture.completedFuture(
            java.util.Collections.nCopies(count, Enqueued.APP_FULL));
      }
      // Several records go to the writer as one (see openBatch): the future of the last one
      // completes for them all, so the writer must not store the first ones and fail the rest.
      Batch batch = admittedCount > 1 ? openBatch() : null;
      try {
        for (int i = 0; i < count; i++) {
          if (!admitted[i]) {
            out.add(Enqueued.APP_FULL);
            continue;
          }
          String key = keys[i];
          Notification n = entries.get(i).notification();
          while (true) {
            UserQueues u = user(key);
            synchronized (u) {
              if (users.get(key) != u) {
                continue; // emptied and dropped meanwhile: take the user's current queues
              }
              ArrayDeque<Notification> q =
                  u.byApp.computeIfAbsent(n.appId(), a -> new ArrayDeque<>());
              q.addLast(n);
              List<Notification> dropped = List.of();
              if (q.size() > CAPACITY) {
                dropped = List.of(q.pollFirst());
                released(n.appId(), 1);
              } else {
                liveItems.incrementAndGet();
              }
              out.add(new Enqueued(q.size(), dropped));
              append(batch, records[i], i == last ? written : null);
            }
            break;
          }
          if (batch != null) {
            steppedForTests(i);
          }
        }
      } finally {
        if (batch != null) {
          closeBatch(batch);
        }
      }
    } finally {
      compaction.readLock().unlock();
    }
    return written.thenApply(v -> out);
  }

  @Override
  public CompletionStage<List<Notification>> pending(String userSub) {
    UserQueues u = users.get(UserKeys.of(userSub));
    if (u == null) {
      return CompletableFuture.completedFuture(List.of());
    }
    List<Notification> all = new ArrayList<>();
    synchronized (u) {
      u.byApp.entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .forEach(e -> all.addAll(e.getValue()));
    }
    return CompletableFuture.completedFuture(all);
  }

  @Override
  public CompletionStage<Set<String>> withItems(Collection<String> userSubs) {
    Set<String> out = new HashSet<>();
    for (String user : userSubs) {
      UserQueues u = users.get(UserKeys.of(user));
      if (u != null) {
        synchronized (u) {
          for (ArrayDeque<Notification> q : u.byApp.values()) {
            if (!q.isEmpty()) {
              out.add(user);
              break;
            }
          }
        }
      }
    }
    return CompletableFuture.completedFuture(out);
  }

  @Override
  public CompletionStage<Map<String, List<Notification>>> removeAll(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    Map<String, List<Notification>> out = new HashMap<>();
    CompletableFuture<Void> written = new CompletableFuture<>();
    boolean handed;
    compaction.readLock().lock();
    try {
      if (closing || failed) {
        return closedFailure().thenApply(v -> Map.of());
      }
      // One transaction (the contract): the removals go to the writer as one batch, stored or
      // failed together, so a caller told that they failed finds every item still queued.
      Batch batch = openBatch();
      int records = 0;
      try {
        for (Map.Entry<String, ? extends Map<Long, ? extends Collection<String>>> e :
            idsByUser.entrySet()) {
          String key = UserKeys.of(e.getKey());
          UserQueues u = users.get(key);
          if (u == null) {
            continue;
          }
          synchronized (u) {
            for (Map.Entry<Long, ? extends Collection<String>> byApp : e.getValue().entrySet()) {
              ArrayDeque<Notification> q = u.byApp.get(byApp.getKey());
              if (q == null || byApp.getValue().isEmpty()) {
                continue;
              }
              Set<String> wanted = new HashSet<>(byApp.getValue());
              for (Iterator<Notification> it = q.iterator(); it.hasNext(); ) {
                Notification n = it.next();
                if (wanted.contains(n.id())) {
                  it.remove();
                  liveItems.decrementAndGet();
                  released(n.appId(), 1);
                  out.computeIfAbsent(e.getKey(), x -> new ArrayList<>()).add(n);
                  append(
                      batch,
                      record(
                          REMOVE,
                          o -> {
                            o.writeUTF(key);
                            o.writeLong(n.appId());
                            o.writeUTF(n.id());
                          }),
                      null);
                  steppedForTests(records++);
                }
              }
              dropEmpty(key, u, byApp.getKey());
            }
          }
        }
      } finally {
        handed = closeBatch(batch, written);
      }
    } finally {
      compaction.readLock().unlock();
    }
    return handed ? written.thenApply(v -> out) : CompletableFuture.completedFuture(out);
  }

  @Override
  public CompletionStage<Integer> size(String userSub, long appId) {
    UserQueues u = users.get(UserKeys.of(userSub));
    if (u == null) {
      return CompletableFuture.completedFuture(0);
    }
    synchronized (u) {
      ArrayDeque<Notification> q = u.byApp.get(appId);
      return CompletableFuture.completedFuture(q == null ? 0 : q.size());
    }
  }

  @Override
  public CompletionStage<List<Notification>> clear(String userSub, long appId) {
    String key = UserKeys.of(userSub);
    UserQueues u = users.get(key);
    if (u == null) {
      return CompletableFuture.completedFuture(List.of());
    }
    CompletableFuture<Void> written = new CompletableFuture<>();
    List<Notification> dropped;
    compaction.readLock().lock();
    try {
      if (closing || failed) {
        return closedFailure().thenApply(v -> List.of());
      }
      synchronized (u) {
        ArrayDeque<Notification> q = u.byApp.remove(appId);
        dropped = q == null ? List.of() : List.copyOf(q);
        liveItems.addAndGet(-dropped.size());
        released(appId, dropped.size());
        dropEmpty(key, u, appId);
        append(
            record(
                CLEAR,
                o -> {
                  o.writeUTF(key);
                  o.writeLong(appId);
                }),
            written);
      }
    } finally {
      compaction.readLock().unlock();
    }
    return written.thenApply(v -> dropped);
  }

  @Override
  public CompletionStage<Integer> expireIdle(Instant before, int limit) {
    int dropped = 0;
    CompletableFuture<Void> written = new CompletableFuture<>();
    boolean handed;
    compaction.readLock().lock();
    try {
      if (closing || failed) {
        return closedFailure().thenApply(v -> 0);
      }
      // First the idle queues are found, changing nothing; then they are dropped as one batch
      // (stored or failed together), which holds the writer only while the ones found are
      // dropped, not while every user is looked at.
      record Idle(String key, UserQueues u, long appId) {}
      List<Idle> idle = new ArrayList<>();
      for (Map.Entry<String, UserQueues> e : users.entrySet()) {
        if (idle.size() >= limit) {
          break;
        }
        UserQueues u = e.getValue();
        synchronized (u) {
          for (Map.Entry<Long, ArrayDeque<Notification>> q : u.byApp.entrySet()) {
            if (idle.size() >= limit) {
              break;
            }
            if (idleSince(q.getValue(), before)) {
              idle.add(new Idle(e.getKey(), u, q.getKey()));
            }
          }
        }
      }
      Batch batch = openBatch();
      try {
        for (Idle i : idle) {
          String key = i.key();
          long appId = i.appId();
          synchronized (i.u()) {
            ArrayDeque<Notification> q = i.u().byApp.get(appId);
            if (users.get(key) != i.u() || q == null || !idleSince(q, before)) {
              continue; // emptied, or pushed to, since it was found
            }
            i.u().byApp.remove(appId);
            liveItems.addAndGet(-q.size());
            released(appId, q.size());
            append(
                batch,
                record(
                    CLEAR,
                    o -> {
                      o.writeUTF(key);
                      o.writeLong(appId);
                    }),
                null);
            if (i.u().byApp.isEmpty()) {
              users.remove(key, i.u());
            }
          }
          steppedForTests(dropped++);
        }
      } finally {
        handed = closeBatch(batch, written);
      }
    } finally {
      compaction.readLock().unlock();
    }
    int n = dropped;
    return handed ? written.thenApply(v -> n) : CompletableFuture.completedFuture(0);
  }

  /**
   * Whether nothing was pushed to {@code q} since {@code before} (caller holds its user's lock).
   */
  private static boolean idleSince(ArrayDeque<Notification> q, Instant before) {
    Notification newest = q.peekLast();
    return newest == null || newest.createdAt().isBefore(before);
  }

  @Override
  public CompletionStage<Boolean> claimAnswer(String id, Instant expiresAt) {
    long until = expiresAt.toEpochMilli();
    CompletableFuture<Void> written = new CompletableFuture<>();
    compaction.readLock().lock();
    try {
      if (closing || failed) {
        return closedFailure().thenApply(v -> false);
      }
      if (answers.putIfAbsent(id, until) != null) {
        return CompletableFuture.completedFuture(false);
      }
      append(
          record(
              ANSWER,
              o -> {
                o.writeUTF(id);
                o.writeLong(until);
              }),
          written);
    } finally {
      compaction.readLock().unlock();
    }
    return written.thenApply(v -> true);
  }

  @Override
  public CompletionStage<Integer> purgeAnswers(Instant now) {
    long t = now.toEpochMilli();
    int before = answers.size();
    answers.values().removeIf(until -> until < t);
    return CompletableFuture.completedFuture(before - answers.size());
  }

  /** Compactions since open, the one at open included. */
  long compactions() {
    return compactions.get();
  }

  /** For tests: the journal file may not grow past {@code bytes} (a full disk) until lifted. */
  void limitFileForTests(long bytes) {
    fileLimitForTests = bytes;
  }

  /**
   * For tests: after handing over the first record of a batch, wake the writer and wait until it
   * has written whatever it would take at that moment and waits for more, as a writer that ran just
   * then would. A writer that took part of an open batch would write its first record alone.
   */
  void yieldInBatchesForTests(boolean yield) {
    yieldInBatchesForTests = yield;
  }

  /**
   * For tests: {@code steps} is called on the thread handing a batch's records over, after each
   * record, with the record's index in the batch; null for none. It runs under the compaction read
   * lock, and for removals under the user's lock too.
   */
  void batchStepsForTests(IntConsumer steps) {
    batchStepsForTests = steps;
  }

  /** After record {@code i} of a batch: the test hooks, if set. */
  private void steppedForTests(int i) {
    if (yieldInBatchesForTests && i == 0) {
      letWriterTakeForTests();
    }
    IntConsumer steps = batchStepsForTests;
    if (steps != null) {
      steps.accept(i);
    }
  }

  /**
   * For tests: the writer throws {@code t} once, after it next takes records and before it writes
   * them, as an error it does not expect would.
   */
  void throwInWriterOnceForTests(Throwable t) {
    throwInWriterForTests = t;
  }

  /** Items held in memory, for tests and metrics. */
  long liveItems() {
    return liveItems.get();
  }

  /**
   * Stops as a killed process would, for tests: the writer stops at once and whatever it had not
   * written is lost; the file is released without compaction.
   */
  void crash() {
    crashed = true;
    compaction.writeLock().lock();
    closing = true;
    compaction.writeLock().unlock();
    writer.interrupt();
    try {
      writer.join(5000);
      releaseFile();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      LOG.debug("releasing the journal after a simulated crash: {}", e.toString());
    }
    acks.shutdownNow();
  }

  /** Writes what is waiting, compacts, syncs and closes the file. */
  @Override
  public void close() {
    compaction.writeLock().lock();
    try {
      if (closing) {
        return;
      }
      // Under the write lock: no change is between its check of closing and its hand-over.
      closing = true;
    } finally {
      compaction.writeLock().unlock();
    }
    synchronized (pendingLock) {
      pendingLock.notifyAll();
    }
    try {
      writer.join(10_000);
      compaction.writeLock().lock();
      try {
        try {
          if (!failed) {
            compact();
          }
        } catch (IOException e) {
          LOG.error("notification journal {}: not compacted at close", file, e);
        }
        try {
          if (cut) {
            channel.truncate(journalBytes);
          }
          channel.force(true);
        } catch (IOException e) {
          LOG.error("notification journal {}: not synced at close", file, e);
        }
      } finally {
        try {
          releaseFile();
        } catch (IOException e) {
          LOG.debug("closing the journal: {}", e.toString());
        }
        compaction.writeLock().unlock();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    acks.shutdown();
    try {
      acks.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
