package org.presence.store.updates;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;

/**
 * The in-memory {@link AppUpdateLog} of the embedded default.
 *
 * <p>Each application's numbering starts, the first time the node sees it, after the current time
 * in milliseconds times 1000. So numbers keep increasing across restarts of the node (as long as an
 * app gets fewer than a thousand updates per millisecond on average), and a reader resuming with a
 * number from before a restart (below the log's start) learns that its updates are gone ({@link
 * Outcome#TOO_OLD}) rather than being told it is ahead. The numbers stay below 2^53, safe in
 * JavaScript.
 *
 * <p>An application's log also keeps at most a bounded number of updates (the oldest go first), so
 * the node's memory does not grow with the rate of updates. Per-PUID guards are kept in access
 * order and dropped with the retention, so they cost memory only for PUIDs updated within it.
 */
public final class LocalAppUpdateLog implements AppUpdateLog {
  private final Map<Long, AppLog> logs = new ConcurrentHashMap<>();
  private final Clock clock;
  private final Duration retention;
  private final int maxPerApp;

  public LocalAppUpdateLog() {
    this(Clock.systemUTC(), RETENTION, StoreConfig.DEFAULT_UPDATE_LOG_MAX);
  }

  /** With another clock and retention (tests). */
  public LocalAppUpdateLog(Clock clock, Duration retention) {
    this(clock, retention, StoreConfig.DEFAULT_UPDATE_LOG_MAX);
  }

  /**
   * With another clock, retention, and bound: an application's log keeps at most {@code maxPerApp}
   * updates, the oldest going first, so memory stays bounded whatever the rate.
   */
  public LocalAppUpdateLog(Clock clock, Duration retention, int maxPerApp) {
    this.clock = clock;
    this.retention = retention;
    this.maxPerApp = maxPerApp;
  }

  private AppLog log(Long appId) {
    AppLog log = logs.get(appId);
    return log != null ? log : logs.computeIfAbsent(appId, id -> new AppLog(clock.millis() * 1000));
  }

  @Override
  public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
    return CompletableFuture.completedFuture(appendNow(appId, updates));
  }

  /**
   * Appends each application's updates at once, as {@link #append} does, and answers with one
   * completed stage (rather than a stage per application joined into another).
   */
  @Override
  public CompletionStage<Map<Long, List<AppUpdate>>> appendAll(
      Map<Long, List<AppUpdate.New>> byApp) {
    if (byApp instanceof OneApp<List<AppUpdate.New>> one) {
      // The usual call (one change seen by one application): a map of one, no lambda.
      return CompletableFuture.completedFuture(
          OneApp.of(one.app(), appendNow(one.app(), one.value())));
    }
    Map<Long, List<AppUpdate>> out = new HashMap<>(byApp.size() * 2);
    byApp.forEach((appId, updates) -> out.put(appId, appendNow(appId, updates)));
    return CompletableFuture.completedFuture(out);
  }

  private List<AppUpdate> appendNow(Long appId, List<AppUpdate.New> updates) {
    AppLog log = log(appId);
    Instant now = clock.instant();
    synchronized (log) {
      log.trimAtMostEverySecond(now, retention);
      if (updates.size() == 1) {
        // The usual call: a list of one (or none), no iterator.
        AppUpdate numbered = take(log, updates.get(0), now);
        return numbered == null ? List.of() : List.of(numbered);
      }
      List<AppUpdate> out = new ArrayList<>(updates.size());
      for (AppUpdate.New u : updates) {
        AppUpdate numbered = take(log, u, now);
        if (numbered != null) {
          out.add(numbered);
        }
      }
      return out;
    }
  }

  /** Numbers and keeps {@code u} if the guards admit it; holds {@code log}'s lock. */
  private AppUpdate take(AppLog log, AppUpdate.New u, Instant now) {
    if (!log.admit(u, now)) {
      return null;
    }
    AppUpdate numbered =
        new AppUpdate(++log.last, u.puid(), u.status(), u.message(), u.version(), now);
    log.entries.add(numbered, maxPerApp);
    return numbered;
  }

  @Override
  public CompletionStage<Read> readSince(long appId, long since, int limit) {
    AppLog log = log(appId);
    synchronized (log) {
      log.trim(clock.instant().minus(retention));
      long last = log.last;
      if (since > last) {
        return done(new Read(Outcome.AHEAD, List.of(), last, false));
      }
      // Entries are numbered consecutively, the newest being last.
      long oldest = last - log.entries.size() + 1;
      if (since < log.base || since + 1 < oldest) {
        return done(new Read(Outcome.TOO_OLD, List.of(), last, false));
      }
      int skip = (int) Math.max(0, since + 1 - oldest);
      int n = Math.min(limit, log.entries.size() - skip);
      List<AppUpdate> out = new ArrayList<>(Math.max(n, 0));
      for (int i = 0; i < n; i++) {
        out.add(log.entries.get(skip + i, oldest + skip + i));
      }
      return done(new Read(Outcome.OK, out, last, skip + n < log.entries.size()));
    }
  }

  @Override
  public CompletionStage<Long> lastSeq(long appId) {
    AppLog log = log(appId);
    synchronized (log) {
      return CompletableFuture.completedFuture(log.last);
    }
  }

  private static CompletionStage<Read> done(Read r) {
    return CompletableFuture.completedFuture(r);
  }

  /**
   * What the log remembers of one PUID: the last version taken, whether it is paused, and the
   * presence it last logged (null before any).
   */
  private static final class Guard {
    long version;
    boolean paused;
    PresenceStatus status;
    String message;

    /** Epoch millis of the last update seen: a long, so a touch allocates nothing. */
    long touched;

    boolean shows(AppUpdate.New u) {
      return u.status() == status && u.message().equals(message);
    }

    void logged(AppUpdate.New u) {
      status = u.status();
      message = u.message();
    }
  }

  /** One application's updates, oldest first, and its PUIDs' guards; guarded by itself. */
  private static final class AppLog {
    final long base;
    long last;
    final UpdateRing entries = new UpdateRing();

    /** By PUID, least recently touched first. */
    final LinkedHashMap<String, Guard> guards = new LinkedHashMap<>(16, 0.75f, true);

    AppLog(long base) {
      this.base = base;
      this.last = base;
    }

    /** Applies the guard rules of {@link AppUpdateLog} to {@code u}: whether it is taken. */
    boolean admit(AppUpdate.New u, Instant now) {
      Guard g = guards.get(u.puid());
      if (g == null) {
        g = new Guard();
        guards.put(u.puid(), g);
      }
      g.touched = now.toEpochMilli();
      switch (u.kind()) {
        case PAUSE -> {
          if (g.paused) {
            return false;
          }
          g.paused = true;
          g.logged(u);
          return true;
        }
        case RESUME -> {
          if (g.paused) {
            g.paused = false;
            g.version = Math.max(g.version, u.version());
            if (u.status() == PresenceStatus.OFFLINE) {
              return false;
            }
            g.logged(u);
            return true;
          }
          return change(g, u);
        }
        default -> {
          return change(g, u);
        }
      }
    }

    private static boolean change(Guard g, AppUpdate.New u) {
      if (g.paused || (u.version() != 0 && u.version() <= g.version)) {
        return false;
      }
      // A newer version moves the guard on even when it shows what the PUID last logged (then it
      // is not logged again, so the PUID's updates never repeat a presence): an older change
      // arriving late is still dropped. Unversioned changes are always taken.
      g.version = Math.max(g.version, u.version());
      if (u.version() != 0 && g.shows(u)) {
        return false;
      }
      g.logged(u);
      return true;
    }

    private long trimmedAtMillis;

    /** Trims, but at most once a second (appends are frequent; the hour is long). */
    void trimAtMostEverySecond(Instant now, Duration retention) {
      long ms = now.toEpochMilli();
      if (ms - trimmedAtMillis >= 1000 || ms < trimmedAtMillis) {
        trimmedAtMillis = ms;
        trim(now.minus(retention));
      }
    }

    void trim(Instant cutoff) {
      entries.trimBefore(UpdateRing.nanos(cutoff));
      long cutoffMillis = cutoff.toEpochMilli();
      Iterator<Guard> g = guards.values().iterator();
      while (g.hasNext() && g.next().touched < cutoffMillis) {
        g.remove();
      }
    }
  }

  /**
   * One application's retained updates, oldest first, in parallel arrays rather than as objects:
   * every update the log keeps survives several young collections, and copying an object per update
   * (plus its {@link Instant}) from one GC space to the next is what made the embedded node's young
   * pauses long at a high update rate. Here an update costs a slot in each array and its message's
   * UTF-8 bytes (UTF-16 code units for the rare message with an unpaired surrogate, which UTF-8
   * cannot carry) in a circular byte array (a device's frame decodes a new message string each
   * time, so keeping the strings kept an object per update alive for as long as the log holds it;
   * the PUID strings are the grants' own, shared). The arrays, which grow by doubling up to the
   * log's bound, are the only objects that live on; the message bytes shrink back when a trim
   * leaves them mostly empty. {@link #get} builds the {@link AppUpdate} a reader asks for. Not
   * thread-safe: guarded by its {@link AppLog}.
   */
  static final class UpdateRing {
    private static final PresenceStatus[] STATUSES = PresenceStatus.values();
    private static final int INITIAL = 64;
    private static final int INITIAL_BYTES = 1024;
    private static final byte[] NO_BYTES = new byte[0];

    /** Set in an update's status byte when its message is kept as UTF-16 code units. */
    private static final int UTF16 = 0x80;

    private String[] puid = new String[0];
    private byte[] status = new byte[0];
    private long[] version = new long[0];

    /** When the log took the update: epoch nanoseconds (exact for any clock until 2262). */
    private long[] at = new long[0];

    /**
     * Where each update's message ends in {@link #text}, as a position counted from the ring's
     * first byte ever (a byte at position {@code p} is at {@code p % text.length}); it begins where
     * the update before it ends, the oldest at {@link #textHead}.
     */
    private long[] textEnd = new long[0];

    private byte[] text = NO_BYTES;
    private long textHead;
    private long textTail;

    private int start;
    private int size;

    int size() {
      return size;
    }

    /** Bytes of the message array (tests). */
    int textCapacity() {
      return text.length;
    }

    static long nanos(Instant t) {
      return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    /** Adds {@code u} as the newest, dropping the oldest once {@code max} are kept. */
    void add(AppUpdate u, int max) {
      if (size == puid.length) {
        if (size < max) {
          grow(Math.min(max, Math.max(INITIAL, size * 2)));
        } else {
          removeFirst();
        }
      }
      String m = u.message();
      boolean utf16 = !m.isEmpty() && hasUnpairedSurrogate(m);
      byte[] b = m.isEmpty() ? NO_BYTES : utf16 ? utf16(m) : m.getBytes(StandardCharsets.UTF_8);
      if (textTail - textHead + b.length > text.length) {
        resizeText(
            Math.max(
                INITIAL_BYTES, Integer.highestOneBit((int) (textTail - textHead + b.length)) * 2));
      }
      copyIn(b);
      int i = (start + size) % puid.length;
      puid[i] = u.puid();
      status[i] = (byte) (u.status().ordinal() | (utf16 ? UTF16 : 0));
      version[i] = u.version();
      at[i] = nanos(u.at());
      textEnd[i] = textTail;
      size++;
    }

    /** The {@code index}-th kept update (0: the oldest), numbered {@code seq}. */
    AppUpdate get(int index, long seq) {
      int i = (start + index) % puid.length;
      long t = at[i];
      long begin = index == 0 ? textHead : textEnd[(start + index - 1) % puid.length];
      return new AppUpdate(
          seq,
          puid[i],
          STATUSES[status[i] & 0x7F],
          message(begin, textEnd[i], (status[i] & UTF16) != 0),
          version[i],
          Instant.ofEpochSecond(
              Math.floorDiv(t, 1_000_000_000L), Math.floorMod(t, 1_000_000_000L)));
    }

    /** Drops the updates taken before {@code cutoffNanos}. */
    void trimBefore(long cutoffNanos) {
      while (size > 0 && at[start] < cutoffNanos) {
        removeFirst();
      }
      long used = textTail - textHead;
      if (text.length > INITIAL_BYTES && used * 4 < text.length) {
        resizeText(Math.max(INITIAL_BYTES, text.length / 2));
      }
    }

    private void removeFirst() {
      puid[start] = null;
      textHead = textEnd[start];
      start = (start + 1) % puid.length;
      size--;
    }

    private String message(long begin, long end, boolean utf16) {
      int n = (int) (end - begin);
      if (n == 0) {
        return "";
      }
      int from = (int) (begin % text.length);
      if (from + n <= text.length && !utf16) {
        return new String(text, from, n, StandardCharsets.UTF_8);
      }
      byte[] b = new byte[n];
      int first = Math.min(n, text.length - from);
      System.arraycopy(text, from, b, 0, first);
      System.arraycopy(text, 0, b, first, n - first);
      if (!utf16) {
        return new String(b, StandardCharsets.UTF_8);
      }
      char[] c = new char[n / 2];
      for (int k = 0; k < c.length; k++) {
        c[k] = (char) ((b[2 * k] & 0xFF) << 8 | (b[2 * k + 1] & 0xFF));
      }
      return new String(c);
    }

    /**
     * Whether {@code m} holds half of a surrogate pair without the other half: UTF-8 cannot carry
     * it (the encoder would write {@code ?}), so such a message is kept as UTF-16 code units.
     */
    static boolean hasUnpairedSurrogate(String m) {
      for (int k = 0; k < m.length(); k++) {
        char c = m.charAt(k);
        if (Character.isSurrogate(c)) {
          if (Character.isHighSurrogate(c)
              && k + 1 < m.length()
              && Character.isLowSurrogate(m.charAt(k + 1))) {
            k++;
          } else {
            return true;
          }
        }
      }
      return false;
    }

    /** {@code m}'s UTF-16 code units, big-endian, exactly (unpaired surrogates included). */
    private static byte[] utf16(String m) {
      byte[] b = new byte[m.length() * 2];
      for (int k = 0; k < m.length(); k++) {
        char c = m.charAt(k);
        b[2 * k] = (byte) (c >>> 8);
        b[2 * k + 1] = (byte) c;
      }
      return b;
    }

    private void copyIn(byte[] b) {
      if (b.length == 0) {
        return;
      }
      int to = (int) (textTail % text.length);
      int first = Math.min(b.length, text.length - to);
      System.arraycopy(b, 0, text, to, first);
      System.arraycopy(b, first, text, 0, b.length - first);
      textTail += b.length;
    }

    /** Moves the kept message bytes into an array of {@code capacity} (at least their length). */
    private void resizeText(int capacity) {
      byte[] t = new byte[capacity];
      for (long p = textHead; p < textTail; ) {
        int from = (int) (p % text.length);
        int to = (int) (p % capacity);
        int n = (int) Math.min(textTail - p, Math.min(text.length - from, capacity - to));
        System.arraycopy(text, from, t, to, n);
        p += n;
      }
      text = t;
    }

    private void grow(int capacity) {
      String[] p = new String[capacity];
      byte[] s = new byte[capacity];
      long[] v = new long[capacity];
      long[] t = new long[capacity];
      long[] e = new long[capacity];
      for (int k = 0; k < size; k++) {
        int i = (start + k) % puid.length;
        p[k] = puid[i];
        s[k] = status[i];
        v[k] = version[i];
        t[k] = at[i];
        e[k] = textEnd[i];
      }
      puid = p;
      status = s;
      version = v;
      at = t;
      textEnd = e;
      start = 0;
    }
  }
}
