package org.presence.gateway.device;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.presence.gateway.fanout.PresenceEvents;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.UserMessages;
import org.presence.store.push.ClientMapping;
import org.presence.store.push.ClientMappingRepository;

/**
 * Push presence ids (seed 000, Client-Mappings): a session ties an id to its user and device, and a
 * push server reports statuses for it. A reported status is kept as a device of its own ({@code
 * <device>~push}) next to the device's socket, so closing the socket does not drop it. Every method
 * returns at once; work continues on the store's threads.
 */
final class PushPresence {
  /**
   * Suffix of the state-store device a push server reports for: a device's pushed status counts as
   * a device of its own next to its socket, so closing the socket does not drop it.
   */
  static final String PUSHED = "~push";

  /**
   * A report marks its mapping used ({@link ClientMappingRepository#touch}) when the mapping was
   * last tied or marked longer ago than this, so that the retention sweep keeps the ids push
   * servers still report for, at one write per id a day at most.
   */
  static final Duration TOUCH_EVERY = Duration.ofDays(1);

  private final ClientMappingRepository mappings;
  private final PresenceStateStore state;
  private final PresenceEvents changes;
  private final Function<String, CompletionStage<UserMessages>> messages;
  private final Clock clock;

  /**
   * @param changes where real changes go (a stage that never fails)
   * @param messages the user's own messages to store with a status ({@code null}: keep the stored
   *     ones)
   */
  PushPresence(
      ClientMappingRepository mappings,
      PresenceStateStore state,
      PresenceEvents changes,
      Function<String, CompletionStage<UserMessages>> messages,
      Clock clock) {
    this.mappings = mappings;
    this.state = state;
    this.changes = changes;
    this.messages = messages;
    this.clock = clock;
  }

  /** Ties {@code presenceId} to the session's user and device (fails with PRESENCE_ID_TAKEN). */
  CompletionStage<Void> register(
      String user, String device, ApplicationIds applicationIds, String presenceId) {
    return mappings.tie(presenceId, user, device, applicationIds).thenApply(m -> null);
  }

  /**
   * A push server reports {@code status} for {@code presenceId}: the status of the device that tied
   * the id, with the same semantics as a status update on the socket (no custom message). It is
   * kept as a device of its own ({@code <device>~push}), aggregated with the user's sockets like
   * any device, and stays until the push server reports another status. Fails with {@code
   * UNKNOWN_PRESENCE_ID} for an id no device tied. A report marks the mapping used (at most once a
   * day, {@link #TOUCH_EVERY}), so that the retention sweep keeps it.
   */
  CompletionStage<Void> status(String presenceId, PresenceStatus status) {
    return mappings
        .find(presenceId)
        .thenCompose(
            found -> {
              if (found.isEmpty()) {
                throw new ProtocolException(ErrorCode.UNKNOWN_PRESENCE_ID, null);
              }
              var m = found.get();
              long now = clock.millis();
              Instant at = Instant.ofEpochMilli(now);
              CompletionStage<Void> touched =
                  m.updatedAt().isAfter(at.minus(TOUCH_EVERY))
                      ? CompletableFuture.completedFuture(null)
                      : mappings.touch(presenceId, at);
              return touched.thenCompose(t -> report(m, status, now));
            });
  }

  private CompletionStage<Void> report(ClientMapping m, PresenceStatus status, long now) {
    return messages
        .apply(m.userSub())
        .thenCompose(
            mine ->
                state.update(
                    m.userSub(),
                    m.deviceId() + PUSHED,
                    null,
                    status,
                    null,
                    m.applicationIds(),
                    mine,
                    now))
        .thenAccept(u -> changes.publish(m.userSub(), u, now));
  }
}
