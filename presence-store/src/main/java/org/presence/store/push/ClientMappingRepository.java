package org.presence.store.push;

import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.ApplicationIds;

/**
 * Push presence ids tied to users' devices (seed 000, Client-Mappings), so that a status a push
 * server reports for an id reaches the right user and device.
 */
public interface ClientMappingRepository {
  /**
   * Ties {@code presenceId} to {@code userSub}'s {@code deviceId}. The device's former id, if
   * another, is dropped (a push re-registration); tying the same id again refreshes it.
   *
   * @return the mapping as stored
   * @throws org.presence.store.error.StoreException (in the stage) with {@code PRESENCE_ID_TAKEN}
   *     when the id belongs to another user
   */
  CompletionStage<ClientMapping> tie(
      String presenceId, String userSub, String deviceId, ApplicationIds applicationIds);

  /** The mapping of {@code presenceId}, if a device tied it. */
  CompletionStage<Optional<ClientMapping>> find(String presenceId);

  /**
   * Marks {@code presenceId} as used at {@code now} (a push server reported for it), so that the
   * retention sweep keeps it: its {@link ClientMapping#updatedAt()} becomes {@code now} unless it
   * is already later. Nothing happens for an id no device tied.
   */
  CompletionStage<Void> touch(String presenceId, Instant now);

  /**
   * Forgets at most {@code limit} mappings neither tied nor {@linkplain #touch touched} since
   * {@code before}, oldest first; completes with how many. A push server's later report for such an
   * id is refused ({@code UNKNOWN_PRESENCE_ID}) until the device ties it again. Several callers at
   * once are harmless (each row goes once), and a mapping tied or touched since {@code before} is
   * never deleted, even while the sweep runs.
   */
  CompletionStage<Integer> purgeUnused(Instant before, int limit);
}
