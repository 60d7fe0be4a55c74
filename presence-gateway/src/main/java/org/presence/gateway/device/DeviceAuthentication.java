package org.presence.gateway.device;

import java.net.InetAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.net.AddressRateLimiter;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Who may open a session: the per-address handshake limit, the identity token's check, and (once
 * {@linkplain #attachPairedDevices attached}) the refusal of revoked paired devices' tokens. Every
 * method returns at once.
 */
final class DeviceAuthentication {
  private final AddressRateLimiter handshakes;
  private final IdentityVerifier verifier;

  /** Checks paired devices' tokens; {@code null} until attached: none is checked. */
  private volatile DeviceService.PairedDevices paired;

  DeviceAuthentication(AddressRateLimiter handshakes, IdentityVerifier verifier) {
    this.handshakes = handshakes;
    this.verifier = verifier;
  }

  /**
   * Checks the per-address handshake limit of the client {@code address} (the forwarded one behind
   * a trusted proxy; {@code null}: no limit), then the assertion. Fails with {@code
   * TOO_MANY_HANDSHAKES} or the verifier's errno.
   */
  CompletionStage<Identity> authenticate(String assertion, InetAddress address) {
    if (!handshakes.tryAcquire(address, System.nanoTime())) {
      return CompletableFuture.failedFuture(
          new ProtocolException(ErrorCode.TOO_MANY_HANDSHAKES, null));
    }
    return verifier.verify(assertion).thenCompose(this::checkPaired);
  }

  /**
   * Checks the identity token of a {@code refresh} on an open session (no handshake limit): as
   * {@link #authenticate}, the token of a revoked paired device fails with {@code DEVICE_REVOKED}.
   */
  CompletionStage<Identity> reauthenticate(String assertion) {
    return verifier.verify(assertion).thenCompose(this::checkPaired);
  }

  /** Uses {@code p} to refuse the tokens of revoked paired devices. */
  void attachPairedDevices(DeviceService.PairedDevices p) {
    this.paired = p;
  }

  private CompletionStage<Identity> checkPaired(Identity id) {
    DeviceService.PairedDevices p = paired;
    if (p == null || id.pairedDevice().isEmpty()) {
      return CompletableFuture.completedFuture(id);
    }
    return p.active(id.pairedDevice())
        .thenApply(
            active -> {
              if (!active) {
                throw new ProtocolException(ErrorCode.DEVICE_REVOKED, null);
              }
              return id;
            });
  }
}
