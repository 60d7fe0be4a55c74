package org.presence.gateway.settings;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which users have stored settings, as far as this node knows, so that a user who never saved any
 * (most users) costs no database read when their device connects: the {@code user_sub}s of the
 * settings table read at once ({@linkplain #loaded loaded}), plus every user whose settings changed
 * since a load began ({@linkplain #heard heard} from the invalidation {@code settings:<sub>}, on
 * every node), plus those whose settings were saved since ({@linkplain #added added} by later reads
 * of the changed rows only, {@link StoredSettingsReader}). Until the first load, after a failed one
 * or when more users have settings than it may hold, it knows nothing and every user {@linkplain
 * #mayHave may have} settings.
 *
 * <p>It keeps 32-bit hashes of the names ({@link String#hashCode}), sorted (4 bytes per user with
 * settings): two names with one hash only make the second user's settings read from the database,
 * as for every user before (with a million users with settings, about one user in 4,000 without
 * any).
 */
final class StoredSettingsIndex {
  /** Hashes of the users with settings at the last load, sorted; {@code null}: not known. */
  private volatile int[] loaded;

  /** Hashes of users whose settings changed, to when it was heard ({@link System#nanoTime}). */
  private final ConcurrentHashMap<Integer, Long> heard = new ConcurrentHashMap<>();

  /** Whether {@code user} may have stored settings: unless the index knows they have none. */
  boolean mayHave(String user) {
    int[] l = loaded;
    if (l == null) {
      return true;
    }
    int h = hash(user);
    // Nothing heard since the last load is the common case: no boxed key to look up then.
    return Arrays.binarySearch(l, h) >= 0 || (!heard.isEmpty() && heard.containsKey(h));
  }

  /** Whether the index knows who has settings (a load succeeded and none failed since). */
  boolean known() {
    return loaded != null;
  }

  /** {@code user}'s settings changed (heard before their cached copy is dropped). */
  void heard(String user) {
    heard.put(hash(user), System.nanoTime());
  }

  /**
   * A load that began at {@code startedAt} ({@link System#nanoTime}, before its query) found {@code
   * users}: changes heard before that are in it.
   */
  void loaded(List<String> users, long startedAt) {
    int[] l = new int[users.size()];
    for (int i = 0; i < l.length; i++) {
      l[i] = hash(users.get(i));
    }
    Arrays.sort(l);
    loaded = l;
    heard.values().removeIf(t -> t - startedAt < 0);
  }

  /**
   * A read of the users whose settings changed, begun at {@code startedAt} ({@link
   * System#nanoTime}, before its query), found {@code users}: they join the last load's, and
   * changes heard before that are in it. Returns how many users' hashes the load now holds. Only
   * after a {@linkplain #loaded load}: without one the index stays unknown.
   */
  int added(List<String> users, long startedAt) {
    int[] l = loaded;
    if (l == null) {
      return 0;
    }
    int[] more = new int[users.size()];
    int n = 0;
    for (String u : users) {
      int h = hash(u);
      if (Arrays.binarySearch(l, h) < 0) {
        more[n++] = h;
      }
    }
    if (n > 0) {
      int[] merged = Arrays.copyOf(l, l.length + n);
      System.arraycopy(more, 0, merged, l.length, n);
      Arrays.sort(merged);
      // Two new names with one hash: keep it once.
      int k = 0;
      for (int i = 0; i < merged.length; i++) {
        if (k == 0 || merged[k - 1] != merged[i]) {
          merged[k++] = merged[i];
        }
      }
      loaded = l = k == merged.length ? merged : Arrays.copyOf(merged, k);
    }
    heard.values().removeIf(t -> t - startedAt < 0);
    return l.length;
  }

  /** Forgets what it knew (a load failed or found too many users): every user may have settings. */
  void unknown() {
    loaded = null;
  }

  /** How many users' hashes it holds (the last load's and those heard since). */
  int size() {
    int[] l = loaded;
    return (l == null ? 0 : l.length) + heard.size();
  }

  /**
   * The name's {@link String#hashCode}: a status asks about its session's user, whose string caches
   * it, so the question costs no pass over the name (a hash computed here did, on every status).
   */
  static int hash(String user) {
    return user.hashCode();
  }
}
