package org.presence.protocol.push;

import java.util.Objects;
import org.presence.protocol.model.PresenceStatus;

/**
 * A device status reported by a push server (seed 001, "Proposed Modifications to SimplePush"): the
 * body {@code {"xpi": "<presence id>", "xps": "O"}} of {@code POST /push/status}.
 *
 * @param presenceId the device's presence id ({@code xpi})
 * @param status online ({@code O}), away ({@code A}) or unavailable ({@code U})
 */
public record PushStatus(String presenceId, PresenceStatus status) {
  public PushStatus {
    Objects.requireNonNull(presenceId, "presenceId");
    Objects.requireNonNull(status, "status");
  }
}
