package org.presence.gateway.device;

import java.net.InetAddress;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.config.DeviceConfig;
import org.presence.gateway.fanout.PresenceEvents;
import org.presence.gateway.identity.Identity;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.StatusBatches;
import org.presence.store.user.UserSettings;

/**
 * The device channel's business rules, without Netty, behind one door: what the rest of the node
 * (the session driver, the push-server route, node liveness, the admin API, start-up) asks of the
 * device channel. Each method hands the call to one small service, where the rule lives: the
 * handshake limit and token check ({@link DeviceAuthentication}), one session per (user, device)
 * across nodes ({@link SessionOwnership}), status updates into the {@link PresenceStateStore} and
 * their real changes out through {@link PresenceEvents} ({@link SessionStatuses}, {@link
 * PresenceChanges}), the offline grace period ({@link GraceReleases}), the user's messages ({@link
 * SettingsMessages}) and push presence ids and the statuses a push server reports ({@link
 * PushPresence}). Every method returns at once; work continues on the store's threads.
 *
 * <h2>Replacing a session</h2>
 *
 * A new session claims its device through {@link SessionOwnership}, which ends the session it
 * replaces: on this node through {@link LocalSessions}, on another node through the bus channel
 * {@code presence.node.<node id>}, which every node subscribes to at start.
 *
 * <h2>Grace period</h2>
 *
 * When a socket closes, its device is released ({@link GraceReleases}) after {@link
 * DeviceConfig#offlineGrace()}, and only if the session still owns the device then: a device that
 * reconnected meanwhile (on any node) owns it under its new session, so its presence never flapped.
 * Pending releases run at once when the node stops.
 *
 * <h2>The user's messages</h2>
 *
 * Every status goes to the state store with the user's own messages (their custom status and away
 * message, from the {@linkplain #attachSettings settings}, cached), which a status without a
 * message of its own carries; the store keeps them and decides real changes on that effective
 * message. A session's status never waits for them (it would let a later status overtake an earlier
 * one): opening the session loads them into the cache, and a status that finds them missing
 * (expired meanwhile) lets the store keep the ones it has. A change of the settings {@linkplain
 * #announce re-announces} the user's current presence through the store, and each node holding
 * sessions of the user {@linkplain #settingsChanged pushes} them the {@code {"settings": ...}}
 * frame.
 */
public final class DeviceService implements AutoCloseable {
  /** The sessions of this node that the service may have to end. */
  public interface LocalSessions {
    /** Ends session {@code session} if it is open here: a newer one took its device. */
    void replaced(UUID session);

    /** Pushes the user's new {@code settings} to session {@code session} if it is open here. */
    default void settings(UUID session, UserSettings settings) {}

    /** Ends session {@code session} with {@code code} if it is open here (the operator asked). */
    default void abort(UUID session, ErrorCode code, String detail) {}
  }

  /** Where the paired devices are looked up: whether one was revoked. */
  public interface PairedDevices {
    /** Whether paired device {@code id} exists and is not revoked. */
    CompletionStage<Boolean> active(String id);
  }

  /** Where the user's settings are read: a cache in front of the database. */
  public interface SettingsSource {
    /** The user's settings, loaded into the cache when missing. */
    CompletionStage<UserSettings> get(String user);

    /** The user's settings if the cache holds them now, else {@code null} (without waiting). */
    UserSettings now(String user);
  }

  /**
   * Longest wait for the user's settings where one is waited for (opening a session, a push
   * server's report); then the store keeps the messages it was last given: the database may be down
   * while sessions go on.
   */
  static final long SETTINGS_WAIT_MS = 1000;

  private final DeviceAuthentication authentication;
  private final SessionStatuses statuses;
  private final PresenceChanges changes;
  private final SettingsMessages messages;
  private final SessionOwnership ownership;
  private final GraceReleases releases;
  private final PushPresence push;
  private final Clock clock;

  /**
   * Takes the parts it delegates to; {@link DeviceChannel#assemble} builds them.
   *
   * @param changes where real changes go, counted (shared with {@code statuses}, {@code releases},
   *     {@code push} and {@code messages})
   */
  DeviceService(
      DeviceAuthentication authentication,
      SessionStatuses statuses,
      PresenceChanges changes,
      SettingsMessages messages,
      SessionOwnership ownership,
      GraceReleases releases,
      PushPresence push,
      Clock clock) {
    this.authentication = authentication;
    this.statuses = statuses;
    this.changes = changes;
    this.messages = messages;
    this.ownership = ownership;
    this.releases = releases;
    this.push = push;
    this.clock = clock;
  }

  /** The bus channel through which other nodes ask node {@code nodeId} to end a session. */
  public static String nodeChannel(String nodeId) {
    return NodeCommand.channel(nodeId);
  }

  /** Subscribes to this node's bus channel; completes when other nodes can reach it. */
  public CompletionStage<Void> start() {
    return ownership.start();
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions

  /**
   * Checks the per-address handshake limit of the client {@code address} (the forwarded one behind
   * a trusted proxy; {@code null}: no limit), then the assertion. Fails with {@code
   * TOO_MANY_HANDSHAKES} or the verifier's errno.
   */
  public CompletionStage<Identity> authenticate(String assertion, InetAddress address) {
    return authentication.authenticate(assertion, address);
  }

  /**
   * Checks the identity token of a {@code refresh} on an open session (no handshake limit): as
   * {@link #authenticate}, the token of a revoked paired device fails with {@code DEVICE_REVOKED}.
   */
  public CompletionStage<Identity> reauthenticate(String assertion) {
    return authentication.reauthenticate(assertion);
  }

  /** Uses {@code p} to refuse the tokens of revoked paired devices. */
  public void attachPairedDevices(PairedDevices p) {
    authentication.attachPairedDevices(p);
  }

  /**
   * Makes status updates of open sessions go through {@code b} (decided and logged together, one
   * store call per batch); called once at start, when the store has it ({@code null}: no change).
   */
  public void attachStatusBatches(StatusBatches b) {
    statuses.attach(b);
  }

  /**
   * Where the user's settings are read (a cache in front of the database); called once at start.
   */
  public void attachSettings(SettingsSource settings) {
    messages.attach(settings);
  }

  /**
   * The user's settings changed to {@code saved} (called on the node that saved them, before the
   * answer): their current presence is re-announced through the store with the new messages, to
   * every application that sees a difference, whichever node holds their devices. Never fails.
   */
  public CompletionStage<Void> announce(UserSettings saved) {
    return messages.announce(saved);
  }

  /**
   * Heard on every node (invalidation {@code settings:<sub>}): when this node holds sessions of the
   * user, they get the {@code {"settings": ...}} frame, and the store gets the messages again (a
   * status that crossed the change here with the former ones is corrected; no real change
   * otherwise). Returns at once.
   */
  public void settingsChanged(String user) {
    messages.settingsChanged(user);
  }

  /**
   * Makes {@code session} the owner of the device, ending the session it replaces (anywhere). Fails
   * with {@code TOO_MANY_SESSIONS} when the user has {@link DeviceConfig#maxDevicesPerUser()} other
   * devices connected (on any node), decided atomically by the state store. Meanwhile loads the
   * user's settings into the cache (waiting at most {@link #SETTINGS_WAIT_MS}), so that the
   * session's statuses find the user's messages at hand.
   */
  public CompletionStage<Void> open(String user, String device, UUID session) {
    CompletableFuture<?> settingsLoaded =
        messages.attached()
            ? messages.of(user).toCompletableFuture()
            : CompletableFuture.completedFuture(null);
    return ownership.claim(user, device, session).thenCombine(settingsLoaded, (v, m) -> null);
  }

  /**
   * Ends every open session of {@code user}, on whichever node holds it (the admin API's
   * disconnect): this node's at once, others' through their node channel. Devices without a session
   * (reported by a push server) are left alone. Completes with the number of sessions asked to end;
   * a device reconnects with a new session if its client still holds a valid token.
   */
  public CompletionStage<Integer> disconnectUser(String user) {
    return ownership.disconnectUser(user);
  }

  /**
   * Applies a status update of an open session ({@link SessionStatuses}). Completes when the state
   * store took it and its real changes were stored in the applications' update logs (the batch
   * holding them: one log call for the changes of many sessions); fails with {@code
   * SESSION_REPLACED} when the session no longer owns its device, and with the store's error
   * ({@code BACKEND_UNAVAILABLE}), storing nothing, when the user's grants cannot be read (a
   * database outage with no cached grants): the device sends it again. A failed publication is only
   * counted and logged: the device's status is stored.
   */
  public CompletionStage<Void> status(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds) {
    return statuses.update(user, device, session, status, message, applicationIds);
  }

  /**
   * A session's socket closed: its device is released after the grace period, if the session still
   * owns it then ({@link GraceReleases}).
   */
  public void closed(String user, String device, UUID session) {
    releases.closed(user, device, session);
  }

  /**
   * Releases a device that a session of a dead node owned ({@code NodeLiveness}'s clean-up) and
   * publishes the real changes. Several survivors may release the same device at once: the store
   * releases it for one of them only, so each change is published once. Completes with whether this
   * call released it; fails when the store is unavailable.
   */
  public CompletionStage<Boolean> releaseOrphan(String user, String device, UUID session) {
    return releases.releaseOrphan(user, device, session);
  }

  /**
   * Publishes the real changes of devices the store released for {@code user} because their node's
   * lease is gone ({@code NodeLiveness}' sweep: the store reported them to this caller only). Never
   * fails (failures are counted and logged).
   */
  public CompletionStage<Void> publishReleased(String user, PresenceUpdate update) {
    return changes.publish(user, update, clock.millis());
  }

  /**
   * On {@link #close}, leaves the devices still in their grace period to the cluster instead of
   * releasing them: a draining node's devices reconnect to other nodes, which claim them without
   * their presence ever showing offline; those that do not come back are released by a survivor
   * once this node's lease has run out.
   */
  public void leavePendingToCluster(boolean leave) {
    releases.leavePendingToCluster(leave);
  }

  // ---------------------------------------------------------------------------------------------
  // Push server

  /** Ties {@code presenceId} to the session's user and device (fails with PRESENCE_ID_TAKEN). */
  public CompletionStage<Void> registerPush(
      String user, String device, ApplicationIds applicationIds, String presenceId) {
    return push.register(user, device, applicationIds, presenceId);
  }

  /**
   * A push server reports {@code status} for {@code presenceId} ({@link PushPresence#status}).
   * Fails with {@code UNKNOWN_PRESENCE_ID} for an id no device tied.
   */
  public CompletionStage<Void> pushStatus(String presenceId, PresenceStatus status) {
    return push.status(presenceId, status);
  }

  /** Releases pending for their grace period, now. */
  int pendingReleases() {
    return releases.pendingReleases();
  }

  /**
   * Stops: releases the devices of closed sockets at once instead of after their grace period
   * (devices that reconnected elsewhere are not touched), waiting a few seconds for the store; or,
   * {@linkplain #leavePendingToCluster in a cluster}, leaves them to the survivors.
   */
  @Override
  public void close() {
    messages.close();
    ownership.close();
    releases.close();
    changes.close();
  }

  /**
   * Publishes now the presence of users whose changes could not be published (the database is
   * reachable again), rather than at the next try ({@link UnpublishedChanges}).
   */
  void retryUnpublished() {
    changes.retryNow();
  }

  /** Users whose changes wait to be published again ({@link UnpublishedChanges}). */
  int unpublishedUsers() {
    return changes.unpublishedUsers();
  }
}
