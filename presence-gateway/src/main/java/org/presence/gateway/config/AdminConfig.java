package org.presence.gateway.config;

/**
 * The operator's port, apart from the clients' port: it serves {@code /metrics} (and the heartbeat
 * and version endpoints), which are never answered on {@code gateway.port}, and the admin API and
 * page under {@code /admin} (docs/api.md).
 *
 * @param enabled whether the node listens on the admin port at all
 * @param host address to bind ({@code 127.0.0.1} by default: only this machine)
 * @param port port to bind ({@code 8081}); 0 picks a free one (tests)
 * @param token the bearer token of the admin API ({@code admin.token}, or the first line of {@code
 *     admin.token-file}), or {@code null}: then the admin API refuses every call
 */
public record AdminConfig(boolean enabled, String host, int port, String token) {
  /** The shortest admin token accepted. */
  public static final int MIN_TOKEN_LENGTH = 32;

  /** Whether the admin API answers at all. */
  public boolean apiEnabled() {
    return token != null;
  }

  @Override
  public String toString() {
    // Never the token itself (configuration is logged).
    return "AdminConfig[enabled="
        + enabled
        + ", host="
        + host
        + ", port="
        + port
        + ", token="
        + (token == null ? "none" : "set")
        + "]";
  }
}
