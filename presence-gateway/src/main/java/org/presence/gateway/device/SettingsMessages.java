package org.presence.gateway.device;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.presence.store.presence.DeviceState;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.UserMessages;
import org.presence.store.user.UserSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user's own messages (their custom status and away message, from the {@linkplain #attach
 * settings}, cached) that a status without a message of its own carries, and what a change of the
 * settings does: {@linkplain #announce re-announce} the user's presence through the store, and
 * {@linkplain #settingsChanged push} the {@code {"settings": ...}} frame to this node's sessions of
 * the user. Every method returns at once; work continues on the store's threads.
 */
final class SettingsMessages {
  private static final Logger LOG = LoggerFactory.getLogger(SettingsMessages.class);

  private final String nodeId;
  private final PresenceStateStore state;
  private final PresenceChanges changes;
  private final DeviceService.LocalSessions sessions;
  private final Clock clock;

  /** Reads a user's settings (cached); {@code null} until attached: statuses carry none. */
  private volatile DeviceService.SettingsSource settings;

  private volatile boolean stopping;

  SettingsMessages(
      String nodeId,
      PresenceStateStore state,
      PresenceChanges changes,
      DeviceService.LocalSessions sessions,
      Clock clock) {
    this.nodeId = nodeId;
    this.state = state;
    this.changes = changes;
    this.sessions = sessions;
    this.clock = clock;
  }

  /**
   * Where the user's settings are read (a cache in front of the database); called once at start.
   */
  void attach(DeviceService.SettingsSource settings) {
    this.settings = settings;
  }

  /** Whether settings are attached (else statuses carry no user's messages). */
  boolean attached() {
    return settings != null;
  }

  /**
   * The user's messages to store with a status, or {@code null} (keep the stored ones) when the
   * settings are not at hand within {@link DeviceService#SETTINGS_WAIT_MS}.
   */
  CompletionStage<UserMessages> of(String user) {
    DeviceService.SettingsSource source = settings;
    if (source == null) {
      return CompletableFuture.completedFuture(null);
    }
    return source
        .get(user)
        .toCompletableFuture()
        .thenApply(SettingsMessages::messages)
        .exceptionally(e -> null)
        .completeOnTimeout(null, DeviceService.SETTINGS_WAIT_MS, TimeUnit.MILLISECONDS);
  }

  /**
   * The user's messages if the cache holds them now, else {@code null} (keep the stored ones),
   * loading them for the next status.
   */
  UserMessages now(String user) {
    DeviceService.SettingsSource source = settings;
    if (source == null) {
      return null;
    }
    UserSettings s = source.now(user);
    if (s == null) {
      source.get(user);
      return null;
    }
    return messages(s);
  }

  /** The user's messages; the shared {@link UserMessages#NONE} when they have none (most users). */
  private static UserMessages messages(UserSettings s) {
    if (s.customStatus().isEmpty() && s.awayMessage().isEmpty()) {
      return UserMessages.NONE;
    }
    return new UserMessages(s.customStatus(), s.awayMessage());
  }

  /** As {@link DeviceService#announce}. */
  CompletionStage<Void> announce(UserSettings saved) {
    long now = clock.millis();
    return state
        .messages(saved.userSub(), messages(saved), now)
        .thenCompose(u -> changes.publish(saved.userSub(), u, now))
        .handle(
            (v, e) -> {
              if (e != null) {
                changes.failed();
                LOG.warn("new messages of a user not announced: {}", e.toString());
              }
              return null;
            });
  }

  /** As {@link DeviceService#settingsChanged}. */
  void settingsChanged(String user) {
    DeviceService.SettingsSource source = settings;
    if (source == null || stopping) {
      return;
    }
    state
        .devices(user)
        .thenCompose(
            devices -> {
              List<UUID> here = new ArrayList<>();
              for (DeviceState d : devices.values()) {
                if (d.session() != null && nodeId.equals(d.node())) {
                  here.add(d.session());
                }
              }
              if (here.isEmpty()) {
                return CompletableFuture.completedFuture(null);
              }
              return source
                  .get(user)
                  .thenCompose(
                      s -> {
                        for (UUID id : here) {
                          sessions.settings(id, s);
                        }
                        return announce(s);
                      });
            })
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                LOG.warn("new settings not pushed to the user's sessions: {}", e.toString());
              }
            });
  }

  /** Stops pushing changed settings (the node stops). */
  void close() {
    stopping = true;
  }
}
