package org.presence.store.presence;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * The presence of every user across all nodes: per user, each device's status, message, owning
 * session and node, and what each audience was last shown. Two implementations: {@link
 * LocalPresenceStateStore} (one process, the embedded default) and {@link RedisPresenceStateStore}
 * (the cluster). One contract test suite runs against both.
 *
 * <h2>Semantics</h2>
 *
 * <ul>
 *   <li>A user's presence, as an audience sees it, is the most available status (online > away >
 *       unavailable > offline) among the devices it may see, with the message of the device that
 *       set it; among equals, the latest update wins. An offline user has no message. A status
 *       whose device sent no message (or {@code ""}) carries the user's own message for it ({@link
 *       UserMessages}: the custom status with online, the away message with away and unavailable);
 *       changes are decided on that effective message.
 *   <li>An application sees the devices whose application list names it, and the devices without a
 *       list. So each application named by some device is an audience of its own, and all other
 *       granted applications share the audience {@link PresenceChange#ALL_APPS}.
 *   <li>Each call changes one device atomically and returns the <em>real</em> changes of what
 *       audiences see: never a change that repeats what the audience was last shown, whichever node
 *       made the previous one. The caller publishes them.
 *   <li>A call's changes carry the user's presence version: above every earlier one of the user,
 *       and at least the call's time in milliseconds times 1000. That holds when the user's state
 *       went (every device gone) and the user comes back in the same millisecond, or through a
 *       caller whose clock is behind: the last version stays, alone, as a floor while it may be
 *       needed (for the update log's {@link org.presence.store.updates.AppUpdateLog#RETENTION}),
 *       since the update log drops a change not newer than the last one it took of a PUID.
 *   <li>A device is owned by one session; only the owner updates or releases it. A new session
 *       {@linkplain #claim claims} the device and learns whom it replaced.
 * </ul>
 *
 * All methods are non-blocking; times are passed in (epoch milliseconds) so that tests control
 * them.
 */
public interface PresenceStateStore extends AutoCloseable {
  /** {@code "local"} or {@code "redis"}. */
  String kind();

  /**
   * Makes {@code session} on {@code node} the owner of {@code user}'s {@code device}, keeping its
   * status (a quick reconnect does not flap), or adding the device with no status yet. A device
   * that a session owns already is always taken over (it does not count twice); any other is
   * refused with {@link Claim#FULL} when {@code maxDevices} devices of the user (counting those in
   * their offline grace period) have an owning session already.
   *
   * @param maxDevices the most devices with an owning session the user may have (positive)
   */
  CompletionStage<Claim> claim(
      String user, String device, UUID session, String node, int maxDevices, long now);

  /**
   * Sets the device's status. With a {@code session}, only if it owns the device; with {@code null}
   * (a push server's report), whoever owns it, adding the device without an owner if it is unknown.
   *
   * @param message the custom message, or {@code null}
   * @param applicationIds the applications this status is for, or {@code null} for all granted
   * @param messages the user's own messages as the caller knows them (they replace the stored
   *     ones), or {@code null} to keep the stored ones
   */
  CompletionStage<PresenceUpdate> update(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now);

  /**
   * {@link #update(String, String, UUID, PresenceStatus, String, ApplicationIds, UserMessages,
   * long) update}, keeping the user's stored messages.
   */
  default CompletionStage<PresenceUpdate> update(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      long now) {
    return update(user, device, session, status, message, applicationIds, null, now);
  }

  /**
   * Replaces the user's own messages (their settings changed) and returns the real changes: the
   * user's current presence, for every audience whose message that changes. Does nothing for a user
   * with no devices.
   */
  CompletionStage<PresenceUpdate> messages(String user, UserMessages messages, long now);

  /** Removes the device if {@code session} still owns it: its status no longer counts. */
  CompletionStage<PresenceUpdate> release(String user, String device, UUID session, long now);

  /** The user's devices, by device id. */
  CompletionStage<Map<String, DeviceState>> devices(String user);

  /** What each audience was last shown of the user. */
  CompletionStage<UserPresence> presence(String user);

  /**
   * {@link #presence} of each of {@code users}, in their order, healed on read as {@link #presence}
   * is, in as few store calls as the store allows: for a snapshot's or the statistics' page of
   * users. Redis answers a page in one script call (a Redis Cluster: one per primary holding the
   * users' slots) instead of one {@code HGETALL} per user.
   */
  default CompletionStage<List<UserPresence>> presence(List<String> users) {
    List<CompletableFuture<UserPresence>> reads = new ArrayList<>(users.size());
    for (String u : users) {
      reads.add(presence(u).toCompletableFuture());
    }
    return CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0]))
        .thenApply(
            v -> {
              List<UserPresence> out = new ArrayList<>(reads.size());
              reads.forEach(r -> out.add(r.join()));
              return out;
            });
  }

  /**
   * The devices owned by sessions of {@code node}: what a dead node's clean-up {@linkplain #release
   * releases}. A device whose session moved to another node is no longer listed.
   */
  CompletionStage<List<OwnedDevice>> devicesOn(String node);

  /** Forgets what is left listed for {@code node} (after its clean-up). */
  CompletionStage<Void> forgetNode(String node);

  /**
   * Releases every device of {@code user} owned by a session of a node not in {@code liveNodes}
   * (its lease is gone), as {@link #release} would, and returns the real changes. Atomic on the
   * user: of callers racing to release the same devices (a sweep, a read, the dead node's clean-up)
   * one gets the changes, so each is published once. Devices without an owning session (a push
   * server's reports) stay.
   */
  CompletionStage<PresenceUpdate> releaseOrphans(
      String user, Collection<String> liveNodes, long now);

  /**
   * Heals on read from now on: a read ({@link #devices}, {@link #presence}) that finds a device
   * owned by a session of a node whose lease is gone releases it first ({@link #releaseOrphans},
   * with {@code healing}'s live nodes), hands the changes to {@code healing} and answers what is
   * left. Nothing in the embedded store (one process: no other node can die).
   */
  default void healOnRead(ReadHealing healing) {}

  /**
   * One page of a sweep over every user with devices: {@link #releaseOrphans} for about {@code
   * count} users from {@code cursor} ({@code "0"} starts a sweep; a page whose cursor is {@code
   * "0"} ends it), in a bounded number of store calls whatever the page holds. A user may be
   * visited twice in one sweep (harmless: the second finds nothing). The embedded store, one
   * process, has no other node: its sweep ends at once.
   */
  CompletionStage<SweepPage> sweep(
      String cursor, int count, Collection<String> liveNodes, long now);

  /**
   * A page of a sweep.
   *
   * @param cursor where the next page starts; {@code "0"}: the sweep is over
   * @param released the users whose devices the page released, with the real changes
   */
  record SweepPage(String cursor, List<Released> released) {
    public SweepPage {
      released = List.copyOf(released);
    }

    /** Whether the sweep is over. */
    public boolean done() {
      return "0".equals(cursor);
    }
  }

  /**
   * A user some of whose devices a sweep released.
   *
   * @param user the user's subject
   * @param update the real changes to publish
   */
  record Released(String user, PresenceUpdate update) {}

  /**
   * A device and the session that owns it.
   *
   * @param user the user's subject
   * @param device the device id
   * @param session the owning session
   */
  record OwnedDevice(String user, String device, UUID session) {}

  @Override
  void close();
}
