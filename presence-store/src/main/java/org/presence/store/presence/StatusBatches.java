package org.presence.store.presence;

import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * A device's status update decided and logged in one step: the state store's {@link
 * PresenceStateStore#update update} and the publication of its real changes in the applications'
 * update logs ({@link LoggedPresenceEvents}), done together for a batch of updates. The cluster has
 * one ({@link RedisStatusBatches}: one Redis script call per batch; on a Redis Cluster a state call
 * per user slot, then the log calls per application slot); one process does without.
 */
public interface StatusBatches {
  /**
   * {@link PresenceStateStore#update(String, String, UUID, PresenceStatus, String, ApplicationIds,
   * UserMessages, long)}, whose real changes are in the applications' logs (numbered, published)
   * when the stage completes. Fails when the call storing its batch failed: the status and its
   * changes are stored together or not at all, unless the call failed after Redis ran it (a lost
   * connection), when both are. On a Redis Cluster the status and its changes are two calls: a
   * failed state call fails the stage; a failed log call is logged and the stage completes with the
   * stored status.
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
