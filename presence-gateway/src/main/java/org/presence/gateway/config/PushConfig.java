package org.presence.gateway.config;

/**
 * The push-server endpoint ({@code POST /push/status}), through which a SimplePush or autopush
 * server reports devices' statuses (seeds 000 and 001).
 *
 * @param secret the shared secret the push server sends as {@code Authorization: Bearer <secret>};
 *     empty disables the endpoint
 */
public record PushConfig(String secret) {
  /** Whether the endpoint is served. */
  public boolean enabled() {
    return !secret.isEmpty();
  }

  @Override
  public String toString() {
    return "PushConfig[secret=" + (secret.isEmpty() ? "" : "***") + "]";
  }
}
