package org.presence.store.presence;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

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

    /** Applications with a view of their own. */
    TreeSet<Long> ownScopes() {
      return byApp == null ? new TreeSet<>() : new TreeSet<>(byApp.keySet());
    }

    /** Whether the state says nothing an absent state would not: it can be dropped. */
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
   */
  private static PresenceUpdate apply(
      UserState st, String device, DeviceState next, boolean everyAudience, long now) {
    DeviceState old =
        device == null ? null : next == null ? st.remove(device) : st.put(device, next);
    TreeSet<Long> ownBefore = st.ownScopes();
    TreeSet<Long> ownAfter = new TreeSet<>();
    for (int i = 0; i < st.deviceCount(); i++) {
      addNamed(ownAfter, st.stateAt(i));
    }
    boolean touchesAll =
        everyAudience || (old != null && old.showsAll()) || (next != null && next.showsAll());
    TreeSet<Long> affected = new TreeSet<>();
    if (touchesAll) {
      affected.addAll(ownBefore);
      affected.addAll(ownAfter);
    } else {
      if (old != null) {
        addNamed(affected, old);
      }
      if (next != null) {
        addNamed(affected, next);
      }
    }

    long version = Math.max(st.version + 1, now * 1000);
    List<PresenceChange> changes = new ArrayList<>();
    PresenceView allBefore = orOffline(st.published(PresenceChange.ALL_APPS));
    if (touchesAll) {
      PresenceView all = best(st, PresenceChange.ALL_APPS, version);
      if (!all.sameAs(allBefore)) {
        changes.add(change(PresenceChange.ALL_APPS, all));
        st.publish(PresenceChange.ALL_APPS, all);
      }
    }
    for (long app : affected) {
      PresenceView own = st.published(app);
      PresenceView last = own != null ? own : allBefore;
      PresenceView seen = best(st, app, version);
      boolean changed = !seen.sameAs(last);
      if (changed) {
        changes.add(change(app, seen));
      }
      if (ownAfter.contains(app)) {
        st.publish(app, changed ? seen : last);
      } else {
        st.unpublish(app);
      }
    }
    if (!changes.isEmpty()) {
      st.version = version;
    }
    if (changes.isEmpty() && ownBefore.isEmpty() && ownAfter.isEmpty()) {
      return PresenceUpdate.UNCHANGED;
    }
    TreeSet<Long> own = new TreeSet<>(ownBefore);
    own.addAll(ownAfter);
    return new PresenceUpdate(true, changes, ids(own));
  }

  private static PresenceView orOffline(PresenceView v) {
    return v == null ? PresenceView.OFFLINE : v;
  }

  /** The view of audience {@code app} (0: the shared one) over the current devices. */
  private static PresenceView best(UserState st, long app, long version) {
    DeviceState.Shown best = null;
    String bestName = null;
    for (int i = 0; i < st.deviceCount(); i++) {
      DeviceState.Shown d = st.stateAt(i).shownTo(app);
      if (d == null || d.status() == PresenceStatus.OFFLINE) {
        continue;
      }
      if (best == null || better(d, st.idAt(i), best, bestName)) {
        best = d;
        bestName = st.idAt(i);
      }
    }
    return best == null
        ? new PresenceView(PresenceStatus.OFFLINE, null, version)
        : new PresenceView(
            best.status(), st.messages.effective(best.status(), best.message()), version);
  }

  private static boolean better(
      DeviceState.Shown d, String name, DeviceState.Shown best, String bestName) {
    if (d.status() != best.status()) {
      return d.status().moreAvailableThan(best.status());
    }
    if (d.updatedMillis() != best.updatedMillis()) {
      return d.updatedMillis() > best.updatedMillis();
    }
    return name.compareTo(bestName) < 0;
  }

  private static PresenceChange change(long app, PresenceView v) {
    return new PresenceChange(app, v.status(), v.message(), v.version());
  }

  /** Adds the applications {@code d} names: its latest update's and those it shows earlier. */
  private static void addNamed(TreeSet<Long> into, DeviceState d) {
    ApplicationIds ids = d.applicationIds();
    if (ids != null) {
      for (int i = 0; i < ids.size(); i++) {
        into.add(ids.get(i));
      }
    }
    for (long app : d.earlier().keySet()) {
      if (app != PresenceChange.ALL_APPS) {
        into.add(app);
      }
    }
  }

  private static ApplicationIds ids(TreeSet<Long> set) {
    long[] a = new long[set.size()];
    int i = 0;
    for (long v : set) {
      a[i++] = v;
    }
    return ApplicationIds.of(a, a.length);
  }

  static UserPresence view(UserState st) {
    Map<Long, PresenceView> byApp = st.byApp == null ? Map.of() : new HashMap<>(st.byApp);
    return new UserPresence(orOffline(st.published(PresenceChange.ALL_APPS)), byApp);
  }
}
