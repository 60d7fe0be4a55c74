package org.presence.gateway.config;

/**
 * The operator's port, apart from the clients' port: it serves {@code /metrics} (and the heartbeat
 * and version endpoints), which are never answered on {@code gateway.port}.
 *
 * @param enabled whether the node listens on the admin port at all
 * @param host address to bind ({@code 127.0.0.1} by default: only this machine)
 * @param port port to bind ({@code 8081}); 0 picks a free one (tests)
 */
public record AdminConfig(boolean enabled, String host, int port) {}
