package org.presence.store.presence;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.permission.Grant;
import org.presence.store.updates.AppUpdate;

/**
 * A device's status update decided and logged in one step: the state store's {@link
 * PresenceStateStore#update update} and the publication of its real changes in the applications'
 * update logs (the gateway's fan-out, {@code org.presence.gateway.fanout}), done together for a
 * batch of updates. The cluster has one ({@link RedisStatusBatches}: one Redis script call per
 * batch; on a Redis Cluster a state call per user slot, then the log calls per application slot);
 * one process does without.
 */
public interface StatusBatches {
  /**
   * What the batches need of the presence-to-application fan-out, which lives in the gateway
   * ({@code org.presence.gateway.fanout.LoggedPresenceEvents}): who sees a change, and the
   * publisher that numbers updates in the logs and hands them to this node's listeners. The store
   * only stores and publishes.
   */
  interface Fanout {
    /** {@code user}'s live grants; paused ones may be included (they are skipped). */
    CompletionStage<List<Grant>> grants(String user);

    /**
     * The updates of {@code update}'s changes for the enabled grants in {@code grants} that see
     * them, by application: at most one per application and PUID, a later change for the same
     * audience replacing an earlier one. (One Redis's script maps them itself, by the same rule.)
     */
    Map<Long, List<AppUpdate.New>> updatesFor(List<Grant> grants, PresenceUpdate update);

    /**
     * Numbers {@code byApp} in the applications' logs and publishes them (the split path of a Redis
     * Cluster); completes once they are handed to the bus, fails when the log refused them.
     */
    CompletionStage<?> publishAll(Map<Long, List<AppUpdate.New>> byApp);

    /**
     * Updates that a batch's own script numbered, appended and published, for this node's
     * listeners; must not block.
     */
    void delivered(Map<Long, List<AppUpdate>> numberedByApp);
  }

  /**
   * Told of changes that were stored but whose update-log call failed (a Redis Cluster's split
   * path), so that they can be published later: the gateway hands them to its unpublished changes.
   */
  @FunctionalInterface
  interface Unlogged {
    /**
     * {@code update}'s changes of {@code user} (their versions and audiences) were stored and not
     * logged; called on the thread that saw the log call fail, so it must not block.
     */
    void unlogged(String user, PresenceUpdate update);
  }

  /**
   * Makes the batches tell {@code listener} of the changes they stored but could not log (replacing
   * the one before); by default nothing: a path whose status and changes are stored together has
   * none. Called once at start.
   */
  default void whenUnlogged(Unlogged listener) {}

  /**
   * {@link PresenceStateStore#update(String, String, UUID, PresenceStatus, String, ApplicationIds,
   * UserMessages, long)}, whose real changes are in the applications' logs (numbered, published)
   * when the stage completes. Fails, storing nothing, when the user's grants cannot be read (the
   * store's error, {@code BACKEND_UNAVAILABLE} in a database outage): without them its changes
   * could not be logged. Fails when the call storing its batch failed: the status and its changes
   * are stored together or not at all, unless the call failed after Redis ran it (a lost
   * connection), when both are. On a Redis Cluster the status and its changes are two calls: a
   * failed state call fails the stage; a failed log call is logged, its changes are handed to the
   * {@link #whenUnlogged} listener, and the stage completes with the stored status.
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
}
