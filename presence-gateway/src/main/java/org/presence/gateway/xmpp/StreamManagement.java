package org.presence.gateway.xmpp;

/**
 * One XMPP session's stream management (XEP-0198) state: the counts of stanzas handled both ways,
 * and, instead of the unacknowledged stanzas themselves, where they came from in the application's
 * update log. Presence stanzas of updates are marked with their update number: a mark says "after
 * outbound stanza number {@code h}, the peer has every update up to number {@code seq}". When the
 * peer acknowledges {@code h}, the marks up to it give the position ({@link #floor}) a resumed
 * session continues after; what the peer had not acknowledged is read again from the log.
 *
 * <p>At most {@link #MAX_MARKS} marks are kept: beyond, the oldest is dropped, which only makes a
 * later resumption start from an earlier position (a few presence stanzas again, nothing missed).
 * Owned by one session's event loop at a time; handed over to a resuming session through the node's
 * executor hops (which order the writes).
 */
final class StreamManagement {
  static final String NS = "urn:xmpp:sm:3";

  /** Marks kept per session (two longs each). */
  static final int MAX_MARKS = 1024;

  /** Marks kept for a session whose connection ended, the newest (see {@link #detached}). */
  static final int DETACHED_MARKS = 64;

  /** Stanzas sent without an acknowledgement before the server asks for one ({@code <r/>}). */
  static final int ACK_WINDOW = 64;

  private static final long MASK = 0xFFFF_FFFFL;

  /** Why an {@code h} that {@link #parseH} refuses is refused. */
  static final String BAD_H =
      "h is not a number in 0..4294967295 (XEP-0198: an unsigned 32-bit int)";

  /**
   * An {@code h} attribute (XEP-0198: {@code xs:unsignedInt}): its value, or -1 when it is missing
   * or not decimal digits of a number in 0..2^32-1 (no sign, no space; leading zeros are read).
   */
  static long parseH(String h) {
    if (h == null || h.isEmpty() || h.length() > 10) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v > MASK ? -1 : v;
  }

  /** The resumption id, or {@code null} when resumption was not asked for. */
  final String id;

  /** The application and the full JID bound (kept by a resumed session). */
  final long appId;

  final String fullJid;

  /** Stanzas received from the peer since enable, mod 2^32 (the {@code h} we acknowledge). */
  long handledIn;

  /** Stanzas sent since enable (not wrapped). */
  long sentOut;

  /** Of those, how many the peer acknowledged. */
  long ackedOut;

  /**
   * The update number every acknowledged presence stanza covers: a resumed session continues after
   * it; -1 while the snapshot is not acknowledged whole (a resumed session gets a snapshot again).
   */
  long floor = -1;

  /** Whether the session had sent its initial presence (a resumed session gets presence too). */
  boolean available;

  /** An {@code <r/>} is out and not answered. */
  boolean ackRequested;

  /** When the session's connection ended (System.nanoTime), for the resumption window. */
  long detachedNanos;

  private long[] markH = new long[16];
  private long[] markSeq = new long[16];
  private int start;
  private int size;

  StreamManagement(String id, long appId, String fullJid) {
    this.id = id;
    this.appId = appId;
    this.fullJid = fullJid;
  }

  /** A stanza from the peer was handled. */
  void received() {
    handledIn = (handledIn + 1) & MASK;
  }

  /** {@code n} stanzas went out. */
  void sent(int n) {
    sentOut += n;
  }

  /** The stanzas sent so far carry every update up to {@code seq}. */
  void mark(long seq) {
    if (size > 0 && markH[(start + size - 1) % markH.length] == sentOut) {
      markSeq[(start + size - 1) % markH.length] = seq;
      return;
    }
    if (size == markH.length) {
      if (size < MAX_MARKS) {
        long[] h = new long[size * 2];
        long[] s = new long[size * 2];
        for (int i = 0; i < size; i++) {
          h[i] = markH[(start + i) % markH.length];
          s[i] = markSeq[(start + i) % markH.length];
        }
        markH = h;
        markSeq = s;
        start = 0;
      } else {
        start = (start + 1) % markH.length;
        size--;
      }
    }
    int at = (start + size) % markH.length;
    markH[at] = sentOut;
    markSeq[at] = seq;
    size++;
  }

  /** A snapshot starts: until it is acknowledged whole, a resumption needs one again. */
  void snapshotStarted() {
    floor = -1;
    size = 0;
    start = 0;
  }

  int marks() {
    return size;
  }

  /**
   * The session's connection ended at {@code nanos}: keeps the newest {@link #DETACHED_MARKS} marks
   * only (a resuming client acknowledges what it received, which is most of what was sent), so a
   * waiting state costs about a kilobyte.
   */
  void detached(long nanos) {
    detachedNanos = nanos;
    int keep = Math.min(size, DETACHED_MARKS);
    long[] h = new long[Math.max(keep, 1)];
    long[] q = new long[Math.max(keep, 1)];
    for (int i = 0; i < keep; i++) {
      h[i] = markH[(start + size - keep + i) % markH.length];
      q[i] = markSeq[(start + size - keep + i) % markH.length];
    }
    markH = h;
    markSeq = q;
    start = 0;
    size = keep;
  }

  /**
   * The peer's {@code h} (mod 2^32) as a count of stanzas sent, or -1 when it is not between the
   * last acknowledgement and what was sent (acknowledging more than was sent).
   */
  long absolute(long h) {
    if (h < 0 || h > MASK) {
      return -1;
    }
    long back = ((sentOut & MASK) - h) & MASK;
    long abs = sentOut - back;
    return abs < ackedOut ? -1 : abs;
  }

  /** The peer acknowledged {@code abs} stanzas ({@link #absolute}): moves the floor. */
  void acked(long abs) {
    ackedOut = abs;
    ackRequested = false;
    while (size > 0 && markH[start] <= abs) {
      floor = markSeq[start];
      start = (start + 1) % markH.length;
      size--;
    }
  }

  /**
   * A resumption from {@code abs} acknowledged stanzas: what was sent after is gone and is sent
   * again from {@link #floor}, so counting restarts there.
   */
  void resumeFrom(long abs) {
    acked(abs);
    sentOut = abs;
    size = 0;
    start = 0;
    ackRequested = false;
  }
}
