package org.presence.store.presence;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * The status updates a cluster node decides itself, so that Redis only checks and stores them: the
 * node keeps the users' hashes as it last read them (presence.lua's format), and for an update of a
 * user whose hash is <em>plain</em> (every device shown to every application, no audience of an
 * application's own) it computes what {@code presence_op} would: the device's new entry, the view
 * of every application, the version and the reply. {@link RedisStatusBatches} sends these writes
 * with the hash's write token {@code w} as the node read it; the script stores them only if the
 * hash still holds that token, and otherwise decides the update itself and returns the hash again.
 * Every write of the hash gives it a token it never held (the script's {@code r<time>.<n>}, a
 * node's {@link #newToken}), so equal tokens mean an unchanged hash, whoever wrote in between.
 *
 * <p>The node leaves to the script what it cannot decide exactly as Lua would: a hash that is not
 * plain, an update naming applications, new user messages, a session that is not the device's
 * owner, two devices tied on status and time (Lua breaks the tie by its string order), an unpaired
 * surrogate. Each of those costs what it cost before this class, plus the hash returned.
 *
 * <p>What it remembers is bounded ({@link #MAX_USERS}, each forgotten after {@link #IDLE} without
 * an update). The memory is the price of the saving: Redis decodes, decides and encodes nothing for
 * an update the node decided.
 */
final class NodeDecisions {
  /** The users whose hashes a node remembers at most. */
  static final int MAX_USERS = 100_000;

  /** How long a node remembers a user's hash after the user's last update on it. */
  static final Duration IDLE = Duration.ofMinutes(15);

  /**
   * A hash that was not plain is asked for again after this long or after {@link
   * #NOT_PLAIN_UPDATES} more updates of the user on this node, whichever comes first.
   */
  static final long NOT_PLAIN_NANOS = Duration.ofMinutes(1).toNanos();

  /** See {@link #NOT_PLAIN_NANOS}. */
  static final int NOT_PLAIN_UPDATES = 16;

  /** How an update is decided (the first value of an update in the batch script's argument). */
  static final int BY_SCRIPT = 0;

  /** Decided by the script, which returns the user's hash after it. */
  static final int BY_SCRIPT_WITH_HASH = 1;

  /**
   * Decided by the node: the token it read, its writes, where its fallback is and (on one Redis)
   * its log entries follow ({@code RedisStatusBatches.BATCH_UPDATE}).
   */
  static final int BY_NODE = 2;

  private static final Map<String, Integer> RANK = Map.of("online", 1, "away", 2, "unavailable", 3);

  /**
   * A device's entry ({@code d:<device>}): status ("" for none yet), message or {@code null}, owner
   * session and its node ("" for none), time of the status (epoch millis).
   */
  record Device(String s, String m, String o, String n, long u) {}

  /**
   * A plain hash: its write token, version, the user's messages ("" for none), what the shared view
   * ({@code p:0}) shows (status {@code null} when there is none), the devices.
   */
  record Hash(
      String w,
      long version,
      String mo,
      String ma,
      String allStatus,
      String allMessage,
      Map<String, Device> devices) {}

  private static final Set<String> VIEW_FIELDS = Set.of("s", "m", "v");

  private static final Set<String> DEVICE_FIELDS = Set.of("s", "m", "o", "n", "u");

  /**
   * A hash that was not plain, not asked for again before {@code until} ({@link System#nanoTime})
   * or before {@code updatesLeft} more updates.
   */
  private record NotPlain(long until, int updatesLeft) {}

  /**
   * What the node decided: the write token of the hash it decided on (which the script compares),
   * the hash after it, its writes (field, value, ...; the new token among them) and the update as
   * presence_op's reply would give it ({@link PresenceUpdate#UNCHANGED}, or the shared view's
   * change; never an audience of an application's own).
   */
  record Plan(String read, Hash after, String[] writes, PresenceUpdate update) {}

  /**
   * What the node holds of a user: a {@link Hash}, a {@link NotPlain} or {@code null}; replaced in
   * place, so that a decision costs the cache a read and no write.
   */
  private static final class Slot {
    volatile Object state;

    Slot(Object state) {
      this.state = state;
    }
  }

  private final Cache<String, Slot> users;
  private final String tokenPrefix;
  private final AtomicLong tokens = new AtomicLong();

  NodeDecisions() {
    this(MAX_USERS);
  }

  NodeDecisions(int maxUsers) {
    this.users = Caffeine.newBuilder().maximumSize(maxUsers).expireAfterAccess(IDLE).build();
    byte[] random = new byte[8];
    new SecureRandom().nextBytes(random);
    // Not "r" (the script's): a node's tokens and the script's never meet.
    this.tokenPrefix = "n" + HexFormat.of().formatHex(random) + ".";
  }

  /** A write token no hash held: this process's random prefix and a count. */
  String newToken() {
    return tokenPrefix + tokens.incrementAndGet();
  }

  /** The hash of {@code user} as last read or decided here, or {@code null} (for tests). */
  Hash hash(String user) {
    Slot slot = users.getIfPresent(user);
    return slot != null && slot.state instanceof Hash h ? h : null;
  }

  private void set(String user, Object state) {
    Slot slot = users.getIfPresent(user);
    if (slot != null) {
      slot.state = state;
    } else {
      users.put(user, new Slot(state));
    }
  }

  /**
   * Whether the script should return {@code user}'s hash with its decision of an update naming
   * {@code applicationIds} (the hash will not be plain after one that names any).
   */
  boolean wantsHash(String user, ApplicationIds applicationIds) {
    if (applicationIds != null) {
      return false;
    }
    Slot slot = users.getIfPresent(user);
    if (slot != null
        && slot.state instanceof NotPlain np
        && np.updatesLeft() > 0
        && System.nanoTime() - np.until() < 0) {
      slot.state = new NotPlain(np.until(), np.updatesLeft() - 1);
      return false;
    }
    return true;
  }

  /** Forgets {@code user}'s hash (after a failed call). */
  void forget(String user) {
    users.invalidate(user);
  }

  /** Remembers the hash the script returned ({@code HGETALL}'s fields and values). */
  void read(String user, List<Object> flat) {
    Hash h;
    try {
      h = parse(flat);
    } catch (RuntimeException e) {
      // Not what presence.lua writes: the script keeps deciding for this user.
      h = null;
    }
    set(user, h != null ? h : new NotPlain(System.nanoTime() + NOT_PLAIN_NANOS, NOT_PLAIN_UPDATES));
  }

  /**
   * The hash of {@code flat} ({@code HGETALL}'s reply: field, value, ...), or {@code null} when it
   * is not plain (or has no write token).
   */
  static Hash parse(List<Object> flat) {
    String w = null;
    long version = 0;
    String mo = "";
    String ma = "";
    String allStatus = null;
    String allMessage = null;
    Map<String, Device> devices = new HashMap<>(4);
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      String field = text(flat.get(i));
      byte[] value = (byte[]) flat.get(i + 1);
      switch (field) {
        case "w" -> w = new String(value, StandardCharsets.UTF_8);
        case "v" -> version = Long.parseLong(new String(value, StandardCharsets.US_ASCII));
        case "mo" -> mo = new String(value, StandardCharsets.UTF_8);
        case "ma" -> ma = new String(value, StandardCharsets.UTF_8);
        case "p:0" -> {
          Map<String, String> f = RedisPresenceStateStore.plainObject(value);
          if (f == null || !VIEW_FIELDS.containsAll(f.keySet())) {
            return null;
          }
          allStatus = f.get("s");
          allMessage = f.get("m");
        }
        default -> {
          if (!field.startsWith("d:")) {
            return null;
          }
          // A device showing applications something earlier ("e") is not plain, nor is a value
          // this version does not know (which the node's writes would drop).
          Map<String, String> f = RedisPresenceStateStore.plainObject(value);
          if (f == null || !DEVICE_FIELDS.containsAll(f.keySet())) {
            return null;
          }
          double u = Double.parseDouble(f.getOrDefault("u", "0"));
          if (u != Math.rint(u) || Math.abs(u) > 1L << 53) {
            return null;
          }
          devices.put(
              field.substring(2),
              new Device(
                  f.getOrDefault("s", ""),
                  f.get("m"),
                  f.getOrDefault("o", ""),
                  f.getOrDefault("n", ""),
                  (long) u));
        }
      }
    }
    return w == null ? null : new Hash(w, version, mo, ma, allStatus, allMessage, devices);
  }

  /**
   * {@link #decide(Hash, String, String, PresenceStatus, String, ApplicationIds, UserMessages,
   * long) decide} on {@code user}'s hash as this node holds it, which the decision's hash then
   * replaces; {@code null} when the node holds no plain hash of the user, or when the script must
   * decide (the hash held is forgotten then: the script writes a new one). One cache lookup.
   */
  Plan decide(
      String user,
      String device,
      String session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    Slot slot = users.getIfPresent(user);
    if (slot == null || !(slot.state instanceof Hash h)) {
      return null;
    }
    Plan p = decide(h, device, session, status, message, applicationIds, messages, now);
    if (p == null) {
      users.invalidate(user);
    } else {
      slot.state = p.after();
    }
    return p;
  }

  /**
   * The update decided here as presence.lua's {@code presence_op} would (its {@code update} op), or
   * {@code null} when the script must decide it. {@code session} is "" for a push report.
   */
  Plan decide(
      Hash h,
      String device,
      String session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    if (applicationIds != null || now < 0 || unpaired(device) || unpaired(message)) {
      return null;
    }
    if (messages != null
        && !(orEmpty(messages.online()).equals(h.mo())
            && orEmpty(messages.away()).equals(h.ma()))) {
      return null;
    }
    Device cur = h.devices().get(device);
    if (!session.isEmpty() && (cur == null || !cur.o().equals(session))) {
      return null;
    }
    Device next =
        new Device(
            status.wireName(),
            message,
            cur == null ? "" : cur.o(),
            cur == null ? "" : cur.n(),
            now);
    Map<String, Device> devices = new HashMap<>(h.devices());
    devices.put(device, next);

    // best(devs, '0', mo, ma): the lowest rank, then the latest; a tie is Lua's to break.
    Device best = null;
    int bestRank = 0;
    for (Device d : devices.values()) {
      Integer r = RANK.get(d.s());
      if (r == null) {
        continue;
      }
      if (best == null || r < bestRank || (r == bestRank && d.u() > best.u())) {
        best = d;
        bestRank = r;
      } else if (r == bestRank && d.u() == best.u()) {
        return null;
      }
    }
    String s;
    String m;
    if (best == null) {
      s = "offline";
      m = null;
    } else {
      s = best.s();
      m = best.m();
      if (m == null || m.isEmpty()) {
        m = s.equals("online") ? h.mo() : h.ma();
      }
      if (m.isEmpty()) {
        m = null;
      }
    }
    String beforeStatus = h.allStatus() == null ? "offline" : h.allStatus();
    boolean changed = !s.equals(beforeStatus) || !Objects.equals(m, h.allMessage());
    String token = newToken();
    if (!changed) {
      return new Plan(
          h.w(),
          new Hash(token, h.version(), h.mo(), h.ma(), h.allStatus(), h.allMessage(), devices),
          new String[] {"d:" + device, deviceJson(next), "w", token},
          PresenceUpdate.UNCHANGED);
    }
    long version = Math.max(h.version() + 1, now * 1000);
    String v = Long.toString(version);
    return new Plan(
        h.w(),
        new Hash(token, version, h.mo(), h.ma(), s, m, devices),
        new String[] {
          "p:0", viewJson(s, m, v), "d:" + device, deviceJson(next), "v", v, "w", token
        },
        new PresenceUpdate(
            true,
            List.of(
                new PresenceChange(
                    PresenceChange.ALL_APPS, PresenceStatus.fromWire(s).orElseThrow(), m, version)),
            ApplicationIds.NONE));
  }

  /** The session as the script holds it ("" for a push report). */
  static String session(UUID session) {
    return session == null ? "" : session.toString();
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  /** Whether {@code s} has a surrogate that is not half of a pair (sent as '?' to the script). */
  private static boolean unpaired(String s) {
    if (s == null) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  static String deviceJson(Device d) {
    StringBuilder b = new StringBuilder(64 + d.o().length() + d.n().length());
    b.append("{\"s\":");
    jsonString(b, d.s());
    if (d.m() != null) {
      b.append(",\"m\":");
      jsonString(b, d.m());
    }
    b.append(",\"o\":");
    jsonString(b, d.o());
    b.append(",\"n\":");
    jsonString(b, d.n());
    return b.append(",\"u\":").append(d.u()).append('}').toString();
  }

  static String viewJson(String s, String m, String v) {
    StringBuilder b = new StringBuilder(48);
    b.append("{\"s\":");
    jsonString(b, s);
    if (m != null) {
      b.append(",\"m\":");
      jsonString(b, m);
    }
    b.append(",\"v\":");
    jsonString(b, v);
    return b.append('}').toString();
  }

  /**
   * An update's document in an application's log, as the batch script writes it ({@code u} PUID,
   * {@code s} status, {@code m} message unless empty, {@code v} version).
   */
  static String updateJson(String puid, String status, String message, long version) {
    StringBuilder b = new StringBuilder(48 + puid.length() + message.length());
    b.append("{\"u\":");
    jsonString(b, puid);
    b.append(",\"s\":");
    jsonString(b, status);
    if (!message.isEmpty()) {
      b.append(",\"m\":");
      jsonString(b, message);
    }
    return b.append(",\"v\":").append(version).append('}').toString();
  }

  /**
   * {@code s} as a JSON string (RFC 8259: the quotation mark, the reverse solidus and the control
   * characters escaped, everything else as it is).
   */
  static void jsonString(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append("\\u00")
            .append(Character.forDigit(c >> 4, 16))
            .append(Character.forDigit(c & 15, 16));
      } else {
        b.append(c);
      }
    }
    b.append('"');
  }

  private static String text(Object o) {
    return new String((byte[]) o, StandardCharsets.UTF_8);
  }
}
