package org.presence.gateway.config;

import java.time.Duration;

/**
 * The app update channel ({@code /<appid>}) and the stream ({@code /<appid>/presence.json}): limits
 * per application, how much of each application's recent updates a node keeps in memory, frame
 * sizes and timers. Defaults are in {@code presence-defaults.conf}; {@code docs/app-updates.md}
 * explains each from the application's side.
 *
 * @param keyTimeout a socket that has not sent its key frame this long after its upgrade is closed
 * @param maxConnectionsPerApp update connections (sockets and streams) one application may hold
 *     open on one node ({@code TOO_MANY_APP_CONNECTIONS} beyond)
 * @param connectRate update connections per second one application may open on one node (token
 *     bucket refill; {@code TOO_MANY_APP_RECONNECTS} beyond)
 * @param connectBurst update connections one application may open at once (bucket size)
 * @param bufferSize recent updates per application kept in memory for its connections on this node;
 *     a connection further behind reads the application's log instead
 * @param bufferAge recent updates older than this leave the memory buffer
 * @param maxBatch most updates in one frame
 * @param snapshotPage users read per step of a snapshot (and at most this many in one frame)
 * @param reorderWait how long an update that arrived ahead of a missing one waits for it before the
 *     gap is filled from the log
 * @param pollInterval how often a node with connections of an application checks the log for
 *     updates the bus did not bring
 * @param pingInterval a silent socket is pinged (and closed if still silent one interval later); a
 *     stream gets an empty line
 * @param receiptsBuffer notification receipts kept per connection while it is not writable (the
 *     oldest are dropped beyond)
 * @param socketSendBuffer the kernel send buffer of update sockets and streams, in bytes (0: the
 *     kernel's own sizing); with it, what a stalled consumer holds is bounded in the kernel too
 * @param demo whether the node serves the demo application at {@code /demo}
 * @param frameRate frames per second an update socket's client may send on average (pings included,
 *     pongs not; from the socket's start)
 * @param frameBurst frames an update socket's client may send at once (bucket size)
 * @param frameOverdraft frames beyond the bucket (dropped unanswered) before the socket is closed
 *     with {@code RATE_LIMIT_EXCEEDED}
 */
public record UpdatesConfig(
    Duration keyTimeout,
    int maxConnectionsPerApp,
    double connectRate,
    int connectBurst,
    int bufferSize,
    Duration bufferAge,
    int maxBatch,
    int snapshotPage,
    Duration reorderWait,
    Duration pollInterval,
    Duration pingInterval,
    int receiptsBuffer,
    int socketSendBuffer,
    boolean demo,
    double frameRate,
    int frameBurst,
    int frameOverdraft) {}
