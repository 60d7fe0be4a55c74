package org.presence.gateway.config;

import java.time.Duration;

/**
 * Sizes and lifetimes of the Caffeine caches in front of hot reads. Every change that affects an
 * entry invalidates it on every node (through the bus); the lifetime only bounds how long an entry
 * can outlive a lost invalidation.
 *
 * @param apiKeys application id to the application's key hash and state
 * @param grants user to their enabled grants
 * @param settings user to their settings (the messages a status without one carries)
 */
public record CachesConfig(Spec apiKeys, Spec grants, Spec settings) {
  /**
   * One cache.
   *
   * @param maxSize most entries kept
   * @param ttl an entry is reloaded after this long
   */
  public record Spec(long maxSize, Duration ttl) {}
}
