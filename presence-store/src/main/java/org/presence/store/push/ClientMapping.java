package org.presence.store.push;

import java.time.Instant;
import java.util.Objects;
import org.presence.protocol.model.ApplicationIds;

/**
 * A push server's presence id tied to a user's device: a row of the seeds' Client-Mappings table.
 *
 * @param presenceId the id the device gave its push server ({@code xpi})
 * @param userSub the user ({@code sub} of the assertion that tied it)
 * @param deviceId the device, as in its device-channel sessions
 * @param applicationIds the device's application ids when it tied the id, or {@code null} for every
 *     application the user granted
 * @param createdAt when the id was first tied
 * @param updatedAt when it was last tied again, or reported for by a push server (at most a day
 *     late: {@link ClientMappingRepository#touch}); the retention sweep forgets a mapping by it
 */
public record ClientMapping(
    String presenceId,
    String userSub,
    String deviceId,
    ApplicationIds applicationIds,
    Instant createdAt,
    Instant updatedAt) {
  public ClientMapping {
    Objects.requireNonNull(presenceId, "presenceId");
    Objects.requireNonNull(userSub, "userSub");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
  }
}
