package org.presence.gateway.config;

import java.time.Duration;

/**
 * Webhook calls to applications (seed 000: "only called every 30+ seconds with all the updates
 * intended for it"). {@code docs/app-updates.md} explains each from the application's side.
 *
 * @param interval at most one call per application in this time, retries included
 * @param timeout a call (lookup, connect, answer) that takes longer fails and is retried
 * @param maxResponseBytes a larger answer body fails the call
 * @param maxBatch most users (PUIDs) in one call; more wait for the next call
 * @param maxBackoff the longest wait between retries of a failing webhook (the wait doubles from
 *     {@code interval})
 * @param maxInFlight calls one node makes at the same time, over all applications; calls beyond
 *     wait in order, the developers taking turns
 * @param maxInFlightPerDeveloper of those, calls for the applications of one developer
 * @param slowCall a successful call that took this long or longer backs the application's webhook
 *     off like a failure (its updates count as delivered)
 * @param leaseTtl how long a node's claim on sending an application's webhook lasts without
 *     renewal; another node takes over after it
 * @param idle an application's sender with nothing to send for this long stops (it starts again
 *     with the next update)
 * @param testRate test calls one developer may make per second, counted across every node of a
 *     cluster
 * @param testBurst test calls one developer may make at once
 * @param maxBodyBytes most bytes of one call's body (an update call or a part of a snapshot call);
 *     the users beyond wait for the next call or part
 */
public record WebhooksConfig(
    Duration interval,
    Duration timeout,
    int maxResponseBytes,
    int maxBatch,
    Duration maxBackoff,
    int maxInFlight,
    Duration leaseTtl,
    Duration idle,
    int maxInFlightPerDeveloper,
    Duration slowCall,
    double testRate,
    int testBurst,
    int maxBodyBytes) {}
