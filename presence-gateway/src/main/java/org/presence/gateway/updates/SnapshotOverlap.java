package org.presence.gateway.updates;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.presence.protocol.model.PresenceStatus;

/**
 * What a snapshot showed, for the overlap rule of {@link UpdateConsumer}: per listed user the
 * status, message and presence version, and which users' first update the snapshot did not show
 * (from then on their updates are delivered). Held from the snapshot's first page until its overlap
 * window is over, so it is kept small: a PUID (43 base64url characters, 256 bits) is held as four
 * longs, status and version packed in one long, messages only once some user has one, and an
 * open-addressing table of ints for the look-ups. About 50 bytes a listed user (the {@code
 * HashMap<String, Seen>} it replaces took about 160: entry, record, the PUID's {@code String}); see
 * docs/operations.md (sizing). A PUID of another form, or a version beyond 2^60, is held in a plain
 * map instead (none in practice).
 *
 * <p>Not thread-safe: the consumer's event loop only.
 */
final class SnapshotOverlap {
  private static final PresenceStatus[] STATUSES = PresenceStatus.values();
  private static final long DELIVERED = 1L << 2;
  private static final int VERSION_SHIFT = 3;
  private static final long MAX_VERSION = (1L << (63 - VERSION_SHIFT)) - 1;
  private static final int PUID_CHARS = 43;

  /** What the snapshot showed of a user held in {@link #others}; {@code null} status: delivered. */
  private record Seen(PresenceStatus status, String message, long version) {}

  /** Four longs a user: the PUID's 256 bits. */
  private long[] keys = new long[4 * 16];

  /** A user's version, shifted by {@link #VERSION_SHIFT}, the {@link #DELIVERED} bit, status. */
  private long[] packed = new long[16];

  /** The users' messages, {@code null} for none; allocated at the first message. */
  private String[] messages;

  private int size;

  /** Index + 1 of the user in each slot, 0 for an empty slot; a power of two long. */
  private int[] table = new int[32];

  /** Users of PUIDs or versions that do not pack (see the class comment). */
  private final Map<String, Seen> others = new HashMap<>();

  /** Users the snapshot did not list whose first update it did not show. */
  private final Set<String> delivered = new HashSet<>();

  private final long[] scratch = new long[4];

  /** Adds a user the snapshot lists (not offline; each PUID once). */
  void add(String puid, PresenceStatus status, String message, long version) {
    String m = message == null || message.isEmpty() ? null : message;
    if (version < 0 || version > MAX_VERSION || !decode(puid, scratch)) {
      others.put(puid, new Seen(status, m == null ? "" : m, version));
      return;
    }
    if (size == packed.length) {
      grow();
    }
    int i = size++;
    System.arraycopy(scratch, 0, keys, 4 * i, 4);
    packed[i] = (version << VERSION_SHIFT) | status.ordinal();
    if (m != null) {
      if (messages == null) {
        messages = new String[packed.length];
      }
      messages[i] = m;
    }
    if (size * 4L > table.length * 3L) {
      rehash(table.length * 2);
    } else {
      place(i);
    }
  }

  /**
   * Whether the snapshot already shows an update of {@code puid} to {@code status} with {@code
   * message} and {@code version} (see {@link UpdateConsumer}): until the user's first update it
   * does not show, an update whose version is not newer than the snapshot's entry, or that repeats
   * it, or an offline update of a user it left out. The first one it does not show marks the user:
   * later ones are not shown.
   */
  boolean shows(String puid, PresenceStatus status, String message, long version) {
    String m = message == null ? "" : message;
    int i = decode(puid, scratch) ? find(scratch) : -1;
    if (i >= 0) {
      long p = packed[i];
      if ((p & DELIVERED) != 0) {
        return false;
      }
      String seen = messages == null || messages[i] == null ? "" : messages[i];
      boolean shown =
          (version != 0 && version <= (p >>> VERSION_SHIFT))
              || (status == STATUSES[(int) (p & 3)] && m.equals(seen));
      if (!shown) {
        packed[i] = p | DELIVERED;
      }
      return shown;
    }
    Seen s = others.get(puid);
    if (s != null) {
      if (s.status() == null) {
        return false;
      }
      boolean shown =
          (version != 0 && version <= s.version())
              || (status == s.status() && m.equals(s.message()));
      if (!shown) {
        others.put(puid, new Seen(null, null, 0));
      }
      return shown;
    }
    if (delivered.contains(puid)) {
      return false;
    }
    boolean shown = status == PresenceStatus.OFFLINE;
    if (!shown) {
      delivered.add(puid);
    }
    return shown;
  }

  /**
   * Gives back the room the arrays grew ahead of the users: once the snapshot's last page is in.
   */
  void trim() {
    keys = Arrays.copyOf(keys, 4 * size);
    packed = Arrays.copyOf(packed, size);
    if (messages != null) {
      messages = Arrays.copyOf(messages, size);
    }
  }

  /** The users listed. */
  int size() {
    return size + (int) others.values().stream().filter(s -> s.status() != null).count();
  }

  /**
   * The slots of the look-up table (a power of two, at most 4/3 of the packed users rounded up).
   */
  int tableCapacity() {
    return table.length;
  }

  /** The packed users the arrays have room for. */
  int capacity() {
    return packed.length;
  }

  /**
   * The bytes the packed users' arrays hold (headers and the messages' own strings aside): for the
   * sizing figures, counted, not measured.
   */
  long arrayBytes() {
    return 8L * keys.length
        + 8L * packed.length
        + 4L * table.length
        + (messages == null ? 0 : 4L * messages.length);
  }

  private void grow() {
    int n = packed.length + (packed.length >> 1);
    keys = Arrays.copyOf(keys, 4 * n);
    packed = Arrays.copyOf(packed, n);
    if (messages != null) {
      messages = Arrays.copyOf(messages, n);
    }
  }

  private void rehash(int capacity) {
    table = new int[capacity];
    for (int i = 0; i < size; i++) {
      place(i);
    }
  }

  private void place(int i) {
    int mask = table.length - 1;
    int slot = hash(keys, 4 * i) & mask;
    while (table[slot] != 0) {
      slot = (slot + 1) & mask;
    }
    table[slot] = i + 1;
  }

  private int find(long[] key) {
    int mask = table.length - 1;
    int slot = hash(key, 0) & mask;
    for (int probes = 0; probes < table.length; probes++) {
      int e = table[slot];
      if (e == 0) {
        return -1;
      }
      int at = 4 * (e - 1);
      if (keys[at] == key[0]
          && keys[at + 1] == key[1]
          && keys[at + 2] == key[2]
          && keys[at + 3] == key[3]) {
        return e - 1;
      }
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /** The PUID's bits are random: a few of them, mixed, spread the users over the table. */
  private static int hash(long[] k, int at) {
    long h = (k[at] ^ k[at + 3]) * 0x9E3779B97F4A7C15L;
    return (int) (h >>> 32);
  }

  /**
   * Decodes a PUID of 43 base64url characters into {@code out} (256 bits, most significant first);
   * false for any other form, or a last character with bits beyond the 256 (a second spelling of
   * the same bits, which must not be taken for the first).
   */
  static boolean decode(String puid, long[] out) {
    if (puid.length() != PUID_CHARS) {
      return false;
    }
    // 42 characters make 252 bits; the last gives 4 more and its low 2 must be zero.
    long acc = 0;
    int bits = 0;
    int word = 0;
    for (int c = 0; c < PUID_CHARS; c++) {
      int v = sextet(puid.charAt(c));
      if (v < 0) {
        return false;
      }
      int take = 6;
      if (c == PUID_CHARS - 1) {
        if ((v & 3) != 0) {
          return false;
        }
        v >>>= 2;
        take = 4;
      }
      int room = 64 - bits;
      if (take <= room) {
        acc = (acc << take) | v;
        bits += take;
      } else {
        int rest = take - room;
        out[word++] = (acc << room) | (v >>> rest);
        acc = v & ((1 << rest) - 1);
        bits = rest;
      }
      if (bits == 64) {
        out[word++] = acc;
        acc = 0;
        bits = 0;
      }
    }
    return word == 4;
  }

  private static int sextet(char c) {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    if (c == '-') {
      return 62;
    }
    if (c == '_') {
      return 63;
    }
    return -1;
  }
}
