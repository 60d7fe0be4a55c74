package org.presence.gateway.identity;

import java.util.concurrent.CompletionStage;

/**
 * Checks identity tokens (signed JWT assertions, the modern form of the seeds' Persona / Firefox
 * Accounts assertions). Used by the device channel's connect, the JSON APIs and page sign-in.
 *
 * <p>Fails with a {@link org.presence.protocol.error.ProtocolException} carrying {@code
 * INVALID_ASSERTION} (34: malformed, bad signature, unknown key, wrong issuer or audience), {@code
 * ASSERTION_EXPIRED} (35: past {@code exp} or before {@code nbf}, beyond the clock skew) or {@code
 * IDENTITY_UNAVAILABLE} (36: the provider's keys could not be fetched). Never blocks the calling
 * thread on I/O.
 *
 * <p>A paired device's token ({@link Identity#deviceCredential}) is the device's credential only:
 * callers other than the device channel use {@link #verifyAccount}.
 */
public interface IdentityVerifier {
  /** Verifies {@code token}. */
  CompletionStage<Identity> verify(String token);

  /**
   * Verifies {@code token} as the account's credential: as {@link #verify}, and a paired device's
   * token (which works only on the device channel) fails with {@code UNAUTHORIZED} ({@link
   * Identity#requireAccountCredential}). Used everywhere but the device channel.
   */
  default CompletionStage<Identity> verifyAccount(String token) {
    return verify(token).thenApply(Identity::requireAccountCredential);
  }

  /**
   * The identity provider's keys as the heartbeat reports them: where they come from ({@code
   * jwks-url}, {@code jwks-file}, or {@code none} when only development and paired-device tokens
   * are trusted) and, while no key set could be loaded, why no provider token can be verified
   * ({@code null} when they are loaded). Asking while none is loaded tries a load again (no more
   * often than the provider's minimum refresh interval), so a node whose provider was unreachable
   * at start and gets no token still finds the keys once the provider answers.
   */
  default KeysCheck keysCheck() {
    return new KeysCheck("none", null);
  }

  /** What {@link #keysCheck()} reports. */
  record KeysCheck(String kind, String problem) {}
}
