package org.presence.gateway.config;

import java.time.Duration;

/**
 * The device channel ({@code /presence}): timers, rate limits and field limits. Defaults are in
 * {@code presence-defaults.conf}; {@code docs/device-protocol.md} explains each from the client's
 * side.
 *
 * @param connectTimeout a socket that has not opened a session this long after its upgrade is
 *     closed ({@code CONNECT_TIMEOUT})
 * @param offlineGrace a device whose socket closed counts as offline after this long, unless it
 *     reconnected meanwhile
 * @param pingInterval a socket silent this long is sent a WebSocket ping
 * @param pingTimeout a pinged socket still silent this long after the ping is closed ({@code
 *     PING_TIMEOUT})
 * @param rate frames per second a session may send (token bucket refill), after its connect
 * @param burst frames a session may send at once (bucket size)
 * @param overdraft frames refused with {@code SLOW_DOWN} beyond the bucket before the session is
 *     closed ({@code RATE_LIMIT_EXCEEDED}); refused frames still drain the bucket
 * @param handshakeRate connect requests per second per client address (0: no limit)
 * @param handshakeBurst connect requests one address may make at once
 * @param maxApplicationIds most ids in one {@code application_ids}
 * @param maxMessageLength longest custom status message, in characters (code points)
 * @param maxDevicesPerUser most devices one user may have connected at once, across the cluster
 *     (those in their offline grace period count); a connect beyond is refused ({@code
 *     TOO_MANY_SESSIONS})
 * @param identityGrace a session whose identity token expired is closed ({@code IDENTITY_EXPIRED})
 *     this long after the expiry unless a refresh brought a new token
 */
public record DeviceConfig(
    Duration connectTimeout,
    Duration offlineGrace,
    Duration pingInterval,
    Duration pingTimeout,
    double rate,
    int burst,
    int overdraft,
    double handshakeRate,
    int handshakeBurst,
    int maxApplicationIds,
    int maxMessageLength,
    int maxDevicesPerUser,
    Duration identityGrace) {

  /** The defaults of {@code presence-defaults.conf}. */
  public static DeviceConfig defaults() {
    return new DeviceConfig(
        Duration.ofSeconds(10),
        Duration.ofSeconds(10),
        Duration.ofSeconds(30),
        Duration.ofSeconds(30),
        1.0,
        10,
        20,
        20.0,
        100,
        100,
        140,
        10,
        Duration.ofSeconds(30));
  }
}
