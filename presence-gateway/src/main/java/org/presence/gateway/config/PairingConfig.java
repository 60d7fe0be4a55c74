package org.presence.gateway.config;

import java.time.Duration;

/**
 * Device pairing (RFC 8628) and the identity tokens Presence signs for paired devices. Defaults are
 * in {@code presence-defaults.conf}; {@code docs/device-protocol.md} describes the flow.
 *
 * @param tokenLifetime lifetime of an identity token given to a paired device
 * @param codeLifetime how long a device code waits for the user ({@code expires_in})
 * @param pollInterval least time between two polls of one device code ({@code interval}); a faster
 *     poll is answered {@code slow_down}
 * @param keyRotation a new signing key is made once the newest is this old
 * @param keyReload how often a node re-reads the shared signing keys
 * @param maxCodeAttempts wrong user codes one signed-in user may enter per {@code codeLifetime}
 */
public record PairingConfig(
    Duration tokenLifetime,
    Duration codeLifetime,
    Duration pollInterval,
    Duration keyRotation,
    Duration keyReload,
    int maxCodeAttempts) {}
