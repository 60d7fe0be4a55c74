package org.presence.store.presence;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.updates.AppUpdateLog;

/**
 * The presence rules of {@link PresenceStateStore} on one user's state, in plain Java: the
 * in-process store runs them directly, and the Redis store's script ({@code presence.lua}) is their
 * transcription, held to the same contract tests.
 */
final class PresenceAggregator {
  private PresenceAggregator() {}

  /**
   * One user's devices and published views; the caller serialises access. Kept compact because the
   * embedded default holds one per connected user: a single device is held directly, several in two
   * parallel arrays (users have one or a few), the shared audience's view in fields, and a map only
   * for applications that devices name.
   */
  static final class UserState {
    /** Device ids: {@code null}, one {@code String}, or a {@code String[]} for several. */
    private Object ids;

    /** Their states, in the same shape: {@code null}, a {@link DeviceState}, or an array. */
    private Object states;

    /** Last view published to the shared audience; {@code allStatus == null}: never (offline). */
    private PresenceStatus allStatus;

    private String allMessage;
    private long allVersion;

    /** Last views published to applications named by devices; {@code null} when none. */
    private Map<Long, PresenceView> byApp;

    long version;

    /** The user's own messages, shown with a status that has none of its own. */
    UserMessages messages = UserMessages.NONE;

    int deviceCount() {
      return ids == null ? 0 : ids instanceof String ? 1 : ((String[]) ids).length;
    }

    String idAt(int i) {
      return ids instanceof String one ? one : ((String[]) ids)[i];
    }

    DeviceState stateAt(int i) {
      return states instanceof DeviceState one ? one : ((DeviceState[]) states)[i];
    }

    private int indexOf(String device) {
      int n = deviceCount();
      for (int i = 0; i < n; i++) {
        if (idAt(i).equals(device)) {
          return i;
        }
      }
      return -1;
    }

    DeviceState get(String device) {
      int i = indexOf(device);
      return i < 0 ? null : stateAt(i);
    }

    /** Sets the device, returning its former state. */
    DeviceState put(String device, DeviceState state) {
      int i = indexOf(device);
      if (i >= 0) {
        DeviceState old = stateAt(i);
        if (states instanceof DeviceState) {
          states = state;
        } else {
          ((DeviceState[]) states)[i] = state;
        }
        return old;
      }
      int n = deviceCount();
      if (n == 0) {
        ids = device;
        states = state;
        return null;
      }
      String[] ni = new String[n + 1];
      DeviceState[] ns = new DeviceState[n + 1];
      for (int k = 0; k < n; k++) {
        ni[k] = idAt(k);
        ns[k] = stateAt(k);
      }
      ni[n] = device;
      ns[n] = state;
      ids = ni;
      states = ns;
      return null;
    }

    /** Removes the device, returning its former state. */
    DeviceState remove(String device) {
      int i = indexOf(device);
      if (i < 0) {
        return null;
      }
      DeviceState old = stateAt(i);
      int n = deviceCount() - 1;
      if (n == 0) {
        ids = null;
        states = null;
      } else if (n == 1) {
        int keep = i == 0 ? 1 : 0;
        String id = idAt(keep);
        DeviceState st = stateAt(keep);
        ids = id;
        states = st;
      } else {
        String[] ni = new String[n];
        DeviceState[] ns = new DeviceState[n];
        for (int k = 0, j = 0; k <= n; k++) {
          if (k != i) {
            ni[j] = idAt(k);
            ns[j] = stateAt(k);
            j++;
          }
        }
        ids = ni;
        states = ns;
      }
      return old;
    }

    Map<String, DeviceState> devices() {
      Map<String, DeviceState> m = new HashMap<>();
      for (int i = 0; i < deviceCount(); i++) {
        m.put(idAt(i), stateAt(i));
      }
      return Map.copyOf(m);
    }

    /** The view last published to audience {@code app} (0: shared), or {@code null}. */
    PresenceView published(long app) {
      if (app == PresenceChange.ALL_APPS) {
        return allStatus == null ? null : new PresenceView(allStatus, allMessage, allVersion);
      }
      return byApp == null ? null : byApp.get(app);
    }

    void publish(long app, PresenceView view) {
      if (app == PresenceChange.ALL_APPS) {
        allStatus = view.status();
        allMessage = view.message();
        allVersion = view.version();
      } else {
        if (byApp == null) {
          byApp = new HashMap<>(4);
        }
        byApp.put(app, view);
      }
    }

    void unpublish(long app) {
      if (byApp != null) {
        byApp.remove(app);
        if (byApp.isEmpty()) {
          byApp = null;
        }
      }
    }

    /** Applications with a view of their own, in ascending order. */
    long[] ownScopes() {
      if (byApp == null) {
        return NO_APPS;
      }
      long[] a = new long[byApp.size()];
      int i = 0;
      for (long app : byApp.keySet()) {
        a[i++] = app;
      }
      Arrays.sort(a);
      return a;
    }

    /** Whether the shared audience was last shown {@code status} with {@code message}. */
    boolean allShows(PresenceStatus status, String message) {
      return allStatus == null
          ? status == PresenceStatus.OFFLINE && message == null
          : allStatus == status && Objects.equals(allMessage, message);
    }

    /**
     * A state holding this one's version alone: what is kept of a user whose state became {@link
     * #empty} while {@link #floorNeeded} (the same as an absent state, but for the version).
     */
    UserState floor() {
      UserState f = new UserState();
      f.version = version;
      return f;
    }

    /** Whether this is what {@link #floor} makes: a version and nothing else. */
    boolean isFloor() {
      return ids == null && allStatus == null && byApp == null && messages == UserMessages.NONE;
    }

    /**
     * Whether the state says nothing an absent state would not but its version: it can be dropped,
     * or cut down to its {@link #floor}.
     */
    boolean empty() {
      if (ids != null) {
        return false;
      }
      if (allStatus != null && (allStatus != PresenceStatus.OFFLINE || allMessage != null)) {
        return false;
      }
      if (byApp != null) {
        for (PresenceView v : byApp.values()) {
          if (!v.sameAs(PresenceView.OFFLINE)) {
            return false;
          }
        }
      }
      return true;
    }
  }

  /**
   * How long the version of a user whose state is {@linkplain UserState#empty empty} is kept, as a
   * floor for the user's next versions: the update log's {@link AppUpdateLog#RETENTION}, for which
   * it remembers the last version it took of each PUID and drops a change not newer. Counted from
   * the version's own time (a version is at least its change's time in milliseconds times 1000):
   * once the clock is that far past it, a version drawn from the clock alone is above it by as
   * much, unless the clock that draws it is that far behind.
   */
  static final long FLOOR_KEEP_MILLIS = AppUpdateLog.RETENTION.toMillis();

  /**
   * Whether a user's {@code version} must still be kept at {@code now} (epoch millis) once the
   * user's state is {@linkplain UserState#empty empty} ({@link #FLOOR_KEEP_MILLIS}); presence.lua's
   * {@code floor_needed}.
   */
  static boolean floorNeeded(long version, long now) {
    return version > 0 && version > (now - FLOOR_KEEP_MILLIS) * 1000;
  }

  /**
   * Makes {@code session} the owner of {@code device}; refused ({@link Claim#FULL}) when the device
   * has no owner yet and {@code maxDevices} other devices of the user already have one.
   */
  static Claim claim(
      UserState st, String device, UUID session, String node, int maxDevices, long now) {
    DeviceState cur = st.get(device);
    if ((cur == null || cur.session() == null) && ownedDevices(st) >= maxDevices) {
      return Claim.FULL;
    }
    if (cur == null) {
      st.put(device, new DeviceState(null, null, session, node, now, null, null));
      return Claim.NONE;
    }
    st.put(
        device,
        new DeviceState(
            cur.status(),
            cur.message(),
            session,
            node,
            cur.updatedMillis(),
            cur.applicationIds(),
            cur.earlier()));
    return cur.session() == null ? Claim.NONE : new Claim(cur.session(), cur.node());
  }

  /** The user's devices that a session owns (those a push server reports for have none). */
  private static int ownedDevices(UserState st) {
    int n = 0;
    for (int i = 0; i < st.deviceCount(); i++) {
      if (st.stateAt(i).session() != null) {
        n++;
      }
    }
    return n;
  }

  static PresenceUpdate update(
      UserState st,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    DeviceState cur = st.get(device);
    if (session != null && (cur == null || !session.equals(cur.session()))) {
      return PresenceUpdate.NOT_OWNER;
    }
    if (messages != null) {
      st.messages = messages;
    }
    DeviceState next =
        new DeviceState(
            status,
            message,
            cur == null ? null : cur.session(),
            cur == null ? "" : cur.node(),
            now,
            applicationIds,
            earlier(cur, applicationIds));
    return apply(st, device, next, false, now);
  }

  /**
   * What the device will still show the applications an update for {@code applicationIds} does not
   * name: what {@code cur} showed each of them, the oldest forgotten beyond {@link
   * DeviceState#MAX_EARLIER}. Nothing when the update is for every application.
   */
  private static Map<Long, DeviceState.Shown> earlier(
      DeviceState cur, ApplicationIds applicationIds) {
    if (cur == null || applicationIds == null) {
      return Map.of();
    }
    Map<Long, DeviceState.Shown> e = new HashMap<>();
    DeviceState.Shown all = cur.shownTo(PresenceChange.ALL_APPS);
    if (all != null) {
      e.put(PresenceChange.ALL_APPS, all);
    }
    ApplicationIds named = cur.applicationIds();
    for (int i = 0; named != null && i < named.size(); i++) {
      long app = named.get(i);
      DeviceState.Shown s = cur.shownTo(app);
      if (s != null && !applicationIds.contains(app)) {
        e.put(app, s);
      }
    }
    for (Map.Entry<Long, DeviceState.Shown> x : cur.earlier().entrySet()) {
      long app = x.getKey();
      if (app != PresenceChange.ALL_APPS && !applicationIds.contains(app)) {
        e.put(app, x.getValue());
      }
    }
    int apps = e.size() - (all != null ? 1 : 0);
    if (apps > DeviceState.MAX_EARLIER) {
      List<Long> oldest = new ArrayList<>(e.keySet());
      oldest.remove(PresenceChange.ALL_APPS);
      oldest.sort(
          (a, b) -> {
            int c = Long.compare(e.get(a).updatedMillis(), e.get(b).updatedMillis());
            return c != 0 ? c : Long.compare(a, b);
          });
      for (int i = 0; i < apps - DeviceState.MAX_EARLIER; i++) {
        e.remove(oldest.get(i));
      }
    }
    return e;
  }

  static PresenceUpdate release(UserState st, String device, UUID session, long now) {
    DeviceState cur = st.get(device);
    if (cur == null || !session.equals(cur.session())) {
      return PresenceUpdate.NOT_OWNER;
    }
    return apply(st, device, null, false, now);
  }

  /**
   * Sets the user's own messages and works out what every audience now sees: the real changes
   * re-announce the user's current presence with the new messages.
   */
  static PresenceUpdate messages(UserState st, UserMessages messages, long now) {
    st.messages = messages;
    return apply(st, null, null, true, now);
  }

  /**
   * Replaces (or with {@code next} null, removes) one device ({@code device} null: none) and works
   * out the real changes; {@code everyAudience} looks at every audience, whatever the device.
   *
   * <p>Runs on every status change, so the usual case allocates only what it returns: the sets of
   * applications are sorted {@code long} arrays, shared and empty while no device names an
   * application, and a single change is a list of one.
   */
  private static PresenceUpdate apply(
      UserState st, String device, DeviceState next, boolean everyAudience, long now) {
    DeviceState old =
        device == null ? null : next == null ? st.remove(device) : st.put(device, next);
    long[] ownBefore = st.ownScopes();
    long[] ownAfter = NO_APPS;
    for (int i = 0; i < st.deviceCount(); i++) {
      ownAfter = withNamed(ownAfter, st.stateAt(i));
    }
    boolean touchesAll =
        everyAudience || (old != null && old.showsAll()) || (next != null && next.showsAll());
    long[] affected;
    if (touchesAll) {
      affected = union(ownBefore, ownAfter);
    } else {
      affected = NO_APPS;
      if (old != null) {
        affected = withNamed(affected, old);
      }
      if (next != null) {
        affected = withNamed(affected, next);
      }
    }

    long version = Math.max(st.version + 1, now * 1000);
    PresenceChange first = null;
    List<PresenceChange> more = null;
    // What the shared audience saw before this call: what an application without a view of its
    // own saw too.
    PresenceView allBefore =
        affected.length == 0 ? null : orOffline(st.published(PresenceChange.ALL_APPS));
    if (touchesAll) {
      PresenceChange all = best(st, PresenceChange.ALL_APPS, version);
      if (!st.allShows(all.status(), all.message())) {
        first = all;
        st.publish(PresenceChange.ALL_APPS, view(all));
      }
    }
    for (long app : affected) {
      PresenceView own = st.published(app);
      PresenceView last = own != null ? own : allBefore;
      PresenceChange seen = best(st, app, version);
      boolean changed =
          seen.status() != last.status() || !Objects.equals(seen.message(), last.message());
      if (changed) {
        if (first == null) {
          first = seen;
        } else {
          if (more == null) {
            more = new ArrayList<>(affected.length + 1);
            more.add(first);
          }
          more.add(seen);
        }
      }
      if (contains(ownAfter, app)) {
        st.publish(app, changed ? view(seen) : last);
      } else {
        st.unpublish(app);
      }
    }
    if (first != null) {
      st.version = version;
    }
    if (first == null && ownBefore.length == 0 && ownAfter.length == 0) {
      return PresenceUpdate.UNCHANGED;
    }
    List<PresenceChange> changes = more != null ? more : first != null ? List.of(first) : List.of();
    long[] own = union(ownBefore, ownAfter);
    return new PresenceUpdate(true, changes, ApplicationIds.of(own, own.length));
  }

  private static PresenceView orOffline(PresenceView v) {
    return v == null ? PresenceView.OFFLINE : v;
  }

  private static PresenceView view(PresenceChange c) {
    return new PresenceView(c.status(), c.message(), c.version());
  }

  /**
   * What audience {@code app} (0: the shared one) sees over the current devices, as a change
   * numbered {@code version}; built without an object per device.
   */
  private static PresenceChange best(UserState st, long app, long version) {
    PresenceStatus bestStatus = null;
    String bestMessage = null;
    long bestMillis = 0;
    String bestName = null;
    for (int i = 0; i < st.deviceCount(); i++) {
      DeviceState d = st.stateAt(i);
      PresenceStatus status;
      String message;
      long millis;
      if (d.showsLatestTo(app)) {
        status = d.status();
        message = d.message();
        millis = d.updatedMillis();
      } else {
        DeviceState.Shown e = d.shownEarlierTo(app);
        if (e == null) {
          continue;
        }
        status = e.status();
        message = e.message();
        millis = e.updatedMillis();
      }
      if (status == null || status == PresenceStatus.OFFLINE) {
        continue;
      }
      String name = st.idAt(i);
      if (bestStatus == null || better(status, millis, name, bestStatus, bestMillis, bestName)) {
        bestStatus = status;
        bestMessage = message;
        bestMillis = millis;
        bestName = name;
      }
    }
    return bestStatus == null
        ? new PresenceChange(app, PresenceStatus.OFFLINE, null, version)
        : new PresenceChange(
            app, bestStatus, st.messages.effective(bestStatus, bestMessage), version);
  }

  private static boolean better(
      PresenceStatus status,
      long millis,
      String name,
      PresenceStatus bestStatus,
      long bestMillis,
      String bestName) {
    if (status != bestStatus) {
      return status.moreAvailableThan(bestStatus);
    }
    if (millis != bestMillis) {
      return millis > bestMillis;
    }
    return name.compareTo(bestName) < 0;
  }

  /** No application: the empty set of the sorted arrays below, shared. */
  private static final long[] NO_APPS = new long[0];

  /**
   * {@code set} (sorted, unique) with the applications {@code d} names added: its latest update's
   * and those it shows earlier; {@code set} itself when {@code d} names none.
   */
  private static long[] withNamed(long[] set, DeviceState d) {
    ApplicationIds ids = d.applicationIds();
    int named = (ids == null ? 0 : ids.size()) + d.earlier().size();
    if (named == 0) {
      return set;
    }
    long[] all = Arrays.copyOf(set, set.length + named);
    int n = set.length;
    for (int i = 0; ids != null && i < ids.size(); i++) {
      all[n++] = ids.get(i);
    }
    for (long app : d.earlier().keySet()) {
      if (app != PresenceChange.ALL_APPS) {
        all[n++] = app;
      }
    }
    Arrays.sort(all, 0, n);
    int u = 0;
    for (int i = 0; i < n; i++) {
      if (u == 0 || all[i] != all[u - 1]) {
        all[u++] = all[i];
      }
    }
    return u == set.length ? set : Arrays.copyOf(all, u);
  }

  /** The union of two sorted, unique sets: one of them when the other adds nothing. */
  private static long[] union(long[] a, long[] b) {
    if (b.length == 0 || Arrays.equals(a, b)) {
      return a;
    }
    if (a.length == 0) {
      return b;
    }
    long[] out = new long[a.length + b.length];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < a.length || j < b.length) {
      long v;
      if (j == b.length || (i < a.length && a[i] < b[j])) {
        v = a[i++];
      } else if (i == a.length || b[j] < a[i]) {
        v = b[j++];
      } else {
        v = a[i++];
        j++;
      }
      out[n++] = v;
    }
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  private static boolean contains(long[] set, long app) {
    return Arrays.binarySearch(set, app) >= 0;
  }

  static UserPresence view(UserState st) {
    Map<Long, PresenceView> byApp = st.byApp == null ? Map.of() : new HashMap<>(st.byApp);
    return new UserPresence(orOffline(st.published(PresenceChange.ALL_APPS)), byApp);
  }
}
