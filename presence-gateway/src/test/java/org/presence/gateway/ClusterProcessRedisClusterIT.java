package org.presence.gateway;

/**
 * {@link ClusterProcessIT}'s multi-process flows (cross-node status, notifications, receipts, kill
 * -9 of a node, drain) with the nodes on a Redis Cluster, and in place of the one-Redis kill and
 * restart, a cluster primary killed and its replica promoted. The slow flows run once per engine.
 */
class ClusterProcessRedisClusterIT extends ClusterProcessIT {}
