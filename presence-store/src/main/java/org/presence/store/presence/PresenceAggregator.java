package org.presence.store.presence;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * The presence rules of {@link PresenceStateStore} on one user's state, in plain Java: the
 * in-process store runs them directly, and the Redis store's script ({@code presence.lua}) is
 * their transcription, held to the same contract tests.
 */
final class PresenceAggregator {
  private PresenceAggregator() {}

  /** One user's devices and published views; the caller serialises access. */
  static final class UserState {
    final Map<String, DeviceState> devices = new HashMap<>(4);
    /** Last published view per audience; key {@link PresenceChange#ALL_APPS} for the shared one. */
    final Map<Long, PresenceView> published = new HashMap<>(4);
    long version;

    /** Whether the state says nothing an absent state would not: it can be dropped. */
    boolean empty() {
      if (!devices.isEmpty()) {
        return false;
      }
      for (PresenceView v : published.values()) {
        if (!v.sameAs(PresenceView.OFFLINE)) {
          return false;
        }
      }
      return true;
    }
  }

  static Claim claim(UserState st, String device, String session, String node, long now) {
    DeviceState cur = st.devices.get(device);
    if (cur == null) {
      st.devices.put(device, new DeviceState(null, null, session, node, now, null));
      return Claim.NONE;
    }
    st.devices.put(
        device,
        new DeviceState(
            cur.status(), cur.message(), session, node, cur.updatedMillis(), cur.applicationIds()));
    return cur.session().isEmpty() ? Claim.NONE : new Claim(cur.session(), cur.node());
  }

  static PresenceUpdate update(
      UserState st,
      String device,
      String session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      long now) {
    DeviceState cur = st.devices.get(device);
    if (session != null && (cur == null || !cur.session().equals(session))) {
      return PresenceUpdate.NOT_OWNER;
    }
    DeviceState next =
        new DeviceState(
            status,
            message,
            cur == null ? "" : cur.session(),
            cur == null ? "" : cur.node(),
            now,
            applicationIds);
    return apply(st, device, next, now);
  }

  static PresenceUpdate release(UserState st, String device, String session, long now) {
    DeviceState cur = st.devices.get(device);
    if (cur == null || !cur.session().equals(session)) {
      return PresenceUpdate.NOT_OWNER;
    }
    return apply(st, device, null, now);
  }

  /** Replaces (or with {@code next} null, removes) one device and works out the real changes. */
  private static PresenceUpdate apply(UserState st, String device, DeviceState next, long now) {
    DeviceState old =
        next == null ? st.devices.remove(device) : st.devices.put(device, next);
    TreeSet<Long> ownBefore = new TreeSet<>(st.published.keySet());
    ownBefore.remove(PresenceChange.ALL_APPS);
    TreeSet<Long> ownAfter = new TreeSet<>();
    for (DeviceState d : st.devices.values()) {
      addAll(ownAfter, d.applicationIds());
    }
    boolean touchesAll =
        (old != null && old.applicationIds() == null)
            || (next != null && next.applicationIds() == null);
    TreeSet<Long> affected = new TreeSet<>();
    if (touchesAll) {
      affected.addAll(ownBefore);
      affected.addAll(ownAfter);
    } else {
      if (old != null) {
        addAll(affected, old.applicationIds());
      }
      if (next != null) {
        addAll(affected, next.applicationIds());
      }
    }

    long version = Math.max(st.version + 1, now * 1000);
    List<PresenceChange> changes = new ArrayList<>();
    PresenceView allBefore = st.published.getOrDefault(PresenceChange.ALL_APPS, PresenceView.OFFLINE);
    if (touchesAll) {
      PresenceView all = best(st, PresenceChange.ALL_APPS, version);
      if (!all.sameAs(allBefore)) {
        changes.add(change(PresenceChange.ALL_APPS, all));
        st.published.put(PresenceChange.ALL_APPS, all);
      }
    }
    for (long app : affected) {
      PresenceView last = st.published.getOrDefault(app, allBefore);
      PresenceView seen = best(st, app, version);
      boolean changed = !seen.sameAs(last);
      if (changed) {
        changes.add(change(app, seen));
      }
      if (ownAfter.contains(app)) {
        st.published.put(app, changed ? seen : last);
      } else {
        st.published.remove(app);
      }
    }
    if (!changes.isEmpty()) {
      st.version = version;
    }
    TreeSet<Long> own = new TreeSet<>(ownBefore);
    own.addAll(ownAfter);
    return new PresenceUpdate(true, changes, ids(own));
  }

  /** The view of audience {@code app} (0: the shared one) over the current devices. */
  private static PresenceView best(UserState st, long app, long version) {
    DeviceState best = null;
    String bestName = null;
    for (Map.Entry<String, DeviceState> e : st.devices.entrySet()) {
      DeviceState d = e.getValue();
      if (!d.visibleTo(app)) {
        continue;
      }
      if (best == null || better(d, e.getKey(), best, bestName)) {
        best = d;
        bestName = e.getKey();
      }
    }
    return best == null
        ? new PresenceView(PresenceStatus.OFFLINE, null, version)
        : new PresenceView(best.status(), best.message(), version);
  }

  private static boolean better(DeviceState d, String name, DeviceState best, String bestName) {
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

  private static void addAll(TreeSet<Long> into, ApplicationIds ids) {
    if (ids != null) {
      for (int i = 0; i < ids.size(); i++) {
        into.add(ids.get(i));
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
    Map<Long, PresenceView> byApp = new HashMap<>(st.published);
    PresenceView all = byApp.remove(PresenceChange.ALL_APPS);
    return new UserPresence(all == null ? PresenceView.OFFLINE : all, byApp);
  }
}
