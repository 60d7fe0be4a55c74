package org.presence.gateway.config;

import java.time.Duration;

/**
 * How long the store keeps what users and devices that never come back leave behind, and the sweep
 * that deletes it (docs/operations.md, data retention).
 *
 * @param revokedPuids how long a revoked PUID's tombstone is kept (it answers GRANT_REVOKED rather
 *     than UNKNOWN_PUID until then)
 * @param clientMappings how long a push presence id is kept after its device last tied it or a push
 *     server last reported for it
 * @param notificationQueues how long a notification queue nothing is pushed to is kept
 * @param revokedDevices how long a revoked paired device is kept (the user's pages list it as
 *     revoked until then)
 * @param sweepInterval how often one node runs the sweep
 * @param sweepBatch rows per delete
 */
public record RetentionConfig(
    Duration revokedPuids,
    Duration clientMappings,
    Duration notificationQueues,
    Duration revokedDevices,
    Duration sweepInterval,
    int sweepBatch) {}
