package org.presence.gateway.config;

import java.time.Duration;

/**
 * How nodes of a cluster watch each other (docs/cluster.md).
 *
 * @param lease how long a node counts as alive after its last heartbeat; the devices of a node
 *     silent for longer are marked offline by a survivor
 * @param heartbeatInterval how often a node renews its lease and looks for dead nodes (at most a
 *     third of the lease, so that one lost heartbeat does not kill a node)
 * @param sweepInterval how often one node (under a cluster-wide lease) walks every user's presence
 *     and releases the devices of nodes whose lease is gone, however they were missed
 * @param sweepBatch users per page of the sweep (one {@code SCAN} and one script call per page)
 */
public record ClusterConfig(
    Duration lease, Duration heartbeatInterval, Duration sweepInterval, int sweepBatch) {}
