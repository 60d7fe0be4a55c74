package org.presence.store.presence;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.PresenceAggregator.UserState;

/**
 * The in-process {@link PresenceStateStore} of the embedded default: a map of user to state, each
 * call serialised per user by {@link ConcurrentHashMap#compute}. Calls do a little CPU work and
 * complete before they return, so they may run on an event loop. A connected user costs one small
 * state object: a user with one device holds it in two one-element arrays (no maps), and the
 * session id is the session's own {@link UUID}.
 *
 * <p>A user with nothing left to show (every device gone) keeps only the version, as a floor for
 * the next ones ({@link PresenceAggregator#floorNeeded}: for the update log's retention), then
 * nothing: the floors are dropped in the order they were made, by the calls that come after their
 * time.
 */
public final class LocalPresenceStateStore implements PresenceStateStore {
  /** The {@code now} of a call that reads: it changes nothing, so it keeps a floor as it is. */
  private static final long READ = Long.MIN_VALUE;

  private final ConcurrentHashMap<String, UserState> users = new ConcurrentHashMap<>();

  /** The floors made, oldest first: when each may be dropped ({@link #dropFloors}). */
  private final ConcurrentLinkedQueue<Floor> floors = new ConcurrentLinkedQueue<>();

  /** Whether a call is dropping floors (one at a time, the only one polling {@link #floors}). */
  private final AtomicBoolean dropping = new AtomicBoolean();

  /** A user's floor of {@code version}, which may be dropped from {@code dropAt} (epoch millis). */
  private record Floor(String user, long version, long dropAt) {}

  @Override
  public String kind() {
    return "local";
  }

  private <T> CompletionStage<T> with(String user, long now, Function<UserState, T> op) {
    return with(
        user,
        new UserCall<T>(now) {
          @Override
          T run(UserState st) {
            return op.apply(st);
          }
        });
  }

  private <T> CompletionStage<T> with(String user, UserCall<T> call) {
    users.compute(user, call);
    if (call.now != READ) {
      if (call.floored) {
        long version = call.floorVersion;
        floors.add(new Floor(user, version, version / 1000 + PresenceAggregator.FLOOR_KEEP_MILLIS));
      }
      dropFloors(call.now);
    }
    return CompletableFuture.completedFuture(call.result);
  }

  /**
   * Drops the floors whose time is over at {@code now}: those of users whose state is still that
   * floor (a user who came back, or went again with a newer version, keeps the state). A look at
   * the oldest floor when none is due.
   */
  private void dropFloors(long now) {
    Floor f = floors.peek();
    if (f == null || f.dropAt() > now || !dropping.compareAndSet(false, true)) {
      return;
    }
    try {
      while ((f = floors.peek()) != null && f.dropAt() <= now) {
        floors.poll();
        long version = f.version();
        users.computeIfPresent(
            f.user(),
            (u, st) ->
                st.isFloor()
                        && st.version == version
                        && !PresenceAggregator.floorNeeded(version, now)
                    ? null
                    : st);
      }
    } finally {
      dropping.set(false);
    }
  }

  /**
   * One call on a user's state, run by {@link ConcurrentHashMap#compute} and holding its result: a
   * status change makes this one object rather than a function, a remapping function and a result
   * holder.
   */
  private abstract static class UserCall<T> implements BiFunction<String, UserState, UserState> {
    /** The call's time, or {@link #READ}. */
    final long now;

    T result;

    /** Whether the call cut the user's state down to its floor, of {@link #floorVersion}. */
    boolean floored;

    long floorVersion;

    UserCall(long now) {
      this.now = now;
    }

    abstract T run(UserState st);

    @Override
    public final UserState apply(String user, UserState st) {
      UserState s = st == null ? new UserState() : st;
      result = run(s);
      if (!s.empty()) {
        return s;
      }
      // Nothing left to show: the version alone stays, while the update logs may hold it.
      if (s.version == 0 || (now != READ && !PresenceAggregator.floorNeeded(s.version, now))) {
        return null;
      }
      if (s == st && s.isFloor()) {
        return s;
      }
      floored = true;
      floorVersion = s.version;
      return s.floor();
    }
  }

  @Override
  public CompletionStage<Claim> claim(
      String user, String device, UUID session, String node, int maxDevices, long now) {
    return with(
        user, now, st -> PresenceAggregator.claim(st, device, session, node, maxDevices, now));
  }

  @Override
  public CompletionStage<PresenceUpdate> update(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    return with(
        user,
        new UserCall<PresenceUpdate>(now) {
          @Override
          PresenceUpdate run(UserState st) {
            return PresenceAggregator.update(
                st, device, session, status, message, applicationIds, messages, now);
          }
        });
  }

  @Override
  public CompletionStage<PresenceUpdate> messages(String user, UserMessages messages, long now) {
    return with(user, now, st -> PresenceAggregator.messages(st, messages, now));
  }

  @Override
  public CompletionStage<PresenceUpdate> release(
      String user, String device, UUID session, long now) {
    return with(user, now, st -> PresenceAggregator.release(st, device, session, now));
  }

  @Override
  public CompletionStage<PresenceUpdate> releaseOrphans(
      String user, Collection<String> liveNodes, long now) {
    return with(
        user,
        now,
        st -> {
          // One release per orphan; a later change of an audience replaces an earlier one.
          Map<Long, PresenceChange> changes = new LinkedHashMap<>();
          Set<Long> own = new TreeSet<>();
          boolean any = false;
          for (Map.Entry<String, DeviceState> e : Map.copyOf(st.devices()).entrySet()) {
            DeviceState d = e.getValue();
            if (d.session() != null
                && d.node() != null
                && !d.node().isEmpty()
                && !liveNodes.contains(d.node())) {
              PresenceUpdate u = PresenceAggregator.release(st, e.getKey(), d.session(), now);
              any = true;
              u.changes().forEach(c -> changes.put(c.appId(), c));
              for (long app : u.ownScopes().toArray()) {
                own.add(app);
              }
            }
          }
          if (!any || (changes.isEmpty() && own.isEmpty())) {
            return PresenceUpdate.UNCHANGED;
          }
          return new PresenceUpdate(
              true,
              new ArrayList<>(changes.values()),
              ApplicationIds.of(own.stream().mapToLong(Long::longValue).toArray()));
        });
  }

  /** One page holding every user: one process, so this serves its tests only. */
  @Override
  public CompletionStage<SweepPage> sweep(
      String cursor, int count, Collection<String> liveNodes, long now) {
    List<Released> out = new ArrayList<>();
    for (String user : users.keySet()) {
      PresenceUpdate u = releaseOrphans(user, liveNodes, now).toCompletableFuture().join();
      if (!u.changes().isEmpty()) {
        out.add(new Released(user, u));
      }
    }
    return CompletableFuture.completedFuture(new SweepPage("0", out));
  }

  @Override
  public CompletionStage<Map<String, DeviceState>> devices(String user) {
    return with(user, READ, UserState::devices);
  }

  @Override
  public CompletionStage<UserPresence> presence(String user) {
    return with(user, READ, PresenceAggregator::view);
  }

  /**
   * Walks every user: one process holds the only node of the embedded default, so this serves its
   * tests and its own start, never a busy clean-up.
   */
  @Override
  public CompletionStage<List<OwnedDevice>> devicesOn(String node) {
    List<OwnedDevice> out = new ArrayList<>();
    for (String user : users.keySet()) {
      users.computeIfPresent(
          user,
          (k, st) -> {
            st.devices()
                .forEach(
                    (device, d) -> {
                      if (d.session() != null && node.equals(d.node())) {
                        out.add(new OwnedDevice(user, device, d.session()));
                      }
                    });
            return st;
          });
    }
    return CompletableFuture.completedFuture(List.copyOf(out));
  }

  /** Nothing to forget: the devices of a node are found by walking the users. */
  @Override
  public CompletionStage<Void> forgetNode(String node) {
    return CompletableFuture.completedFuture(null);
  }

  /** Users with state, for tests and metrics; those whose version alone is kept included. */
  public int users() {
    return users.size();
  }

  @Override
  public void close() {
    users.clear();
    floors.clear();
  }
}
