package org.presence.store.push;

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
}
