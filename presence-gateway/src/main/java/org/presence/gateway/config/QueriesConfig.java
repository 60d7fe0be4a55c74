package org.presence.gateway.config;

import java.time.Duration;

/**
 * Presence queries of applications ({@code GET /<appid>/presence/<puid>}, the batch form and the
 * stats; docs/api.md).
 *
 * @param rate query requests one application may make per second, on each node
 * @param burst query requests one application may make at once
 * @param statsTtl how long one application's counts are reused before they are counted again
 */
public record QueriesConfig(double rate, int burst, Duration statsTtl) {
  /** The most PUIDs one batch query may name. */
  public static final int MAX_BATCH = 1000;
}
