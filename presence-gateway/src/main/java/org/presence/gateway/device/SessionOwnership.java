package org.presence.gateway.device;

import com.codahale.metrics.Counter;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.bus.PresenceBus;
import org.presence.store.presence.Claim;
import org.presence.store.presence.DeviceState;
import org.presence.store.presence.PresenceStateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One session per (user, device) across nodes: a new session claims its device in the state store,
 * which answers with the session it took the device from. On this node that session is ended
 * through {@link DeviceService.LocalSessions}; on another node through the bus channel {@code
 * presence.node.<node id>} ({@link NodeCommand}), which every node subscribes to at start. The same
 * channel carries the operator's disconnects. Every method but {@link #start} returns at once; work
 * continues on the store's and the bus's threads.
 */
final class SessionOwnership implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SessionOwnership.class);

  /**
   * Why a session ended by a disconnect command: the user's "sign out all devices" or the
   * operator's, which the command does not tell apart.
   */
  static final String DISCONNECTED = "signed out (by the user or an operator)";

  private final String nodeId;
  private final int maxDevicesPerUser;
  private final PresenceStateStore state;
  private final PresenceBus bus;
  private final DeviceService.LocalSessions sessions;
  private final Clock clock;
  private final Counter replacedCounter;
  private volatile PresenceBus.Subscription nodeSubscription;

  /**
   * @param maxDevicesPerUser most devices of a user connected at once, on all nodes
   * @param replacedCounter counts the sessions a newer one replaced
   */
  SessionOwnership(
      String nodeId,
      int maxDevicesPerUser,
      PresenceStateStore state,
      PresenceBus bus,
      DeviceService.LocalSessions sessions,
      Clock clock,
      Counter replacedCounter) {
    this.nodeId = nodeId;
    this.maxDevicesPerUser = maxDevicesPerUser;
    this.state = state;
    this.bus = bus;
    this.sessions = sessions;
    this.clock = clock;
    this.replacedCounter = replacedCounter;
  }

  /** Subscribes to this node's bus channel; completes when other nodes can reach it. */
  CompletionStage<Void> start() {
    return bus.subscribe(NodeCommand.channel(nodeId), (channel, message) -> onNodeMessage(message))
        .thenAccept(s -> nodeSubscription = s);
  }

  /**
   * Makes {@code session} the owner of the device, ending the session it replaces (anywhere). Fails
   * with {@code TOO_MANY_SESSIONS} when the user has {@code maxDevicesPerUser} other devices
   * connected (on any node), decided atomically by the state store.
   */
  CompletionStage<Void> claim(String user, String device, UUID session) {
    return state
        .claim(user, device, session, nodeId, maxDevicesPerUser, clock.millis())
        .thenAccept(
            claim -> {
              if (claim.full()) {
                throw new ProtocolException(ErrorCode.TOO_MANY_SESSIONS, null);
              }
              if (claim.replaced()) {
                replace(claim);
              }
            });
  }

  private void replace(Claim claim) {
    UUID old = claim.previousSession();
    replacedCounter.inc();
    if (nodeId.equals(claim.previousNode())) {
      sessions.replaced(old);
      return;
    }
    byte[] message = new NodeCommand(NodeCommand.Type.REPLACE, old).encode();
    bus.publish(NodeCommand.channel(claim.previousNode()), message)
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                LOG.warn(
                    "cannot tell node {} to end replaced session: {}",
                    claim.previousNode(),
                    e.toString());
              }
            });
  }

  /**
   * Ends every open session of {@code user}, on whichever node holds it: this node's at once,
   * others' through their node channel. Devices without a session (reported by a push server) are
   * left alone. Completes with the number of sessions asked to end.
   */
  CompletionStage<Integer> disconnectUser(String user) {
    return state
        .devices(user)
        .thenCompose(
            devices -> {
              List<CompletableFuture<Void>> sent = new ArrayList<>();
              int n = 0;
              for (DeviceState d : devices.values()) {
                if (d.session() == null || d.node().isEmpty()) {
                  continue;
                }
                n++;
                if (nodeId.equals(d.node())) {
                  sessions.abort(d.session(), ErrorCode.SESSION_ABORTED, DISCONNECTED);
                } else {
                  byte[] m = new NodeCommand(NodeCommand.Type.DISCONNECT, d.session()).encode();
                  sent.add(bus.publish(NodeCommand.channel(d.node()), m).toCompletableFuture());
                }
              }
              int asked = n;
              return CompletableFuture.allOf(sent.toArray(new CompletableFuture[0]))
                  .thenApply(v -> asked);
            });
  }

  private void onNodeMessage(byte[] message) {
    try {
      NodeCommand.decode(message)
          .ifPresent(
              c -> {
                switch (c.type()) {
                  case REPLACE -> sessions.replaced(c.session());
                  case DISCONNECT ->
                      sessions.abort(c.session(), ErrorCode.SESSION_ABORTED, DISCONNECTED);
                }
              });
    } catch (IOException e) {
      LOG.warn("ignoring malformed node message: {}", e.toString());
    }
  }

  /** Stops hearing the node channel. */
  @Override
  public void close() {
    PresenceBus.Subscription s = nodeSubscription;
    if (s != null) {
      s.unsubscribe();
    }
  }
}
