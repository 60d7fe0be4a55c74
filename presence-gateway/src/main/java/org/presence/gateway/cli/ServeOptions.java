package org.presence.gateway.cli;

import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The flags of {@code serve} beyond {@link ConfigOptions}: where the node binds and its backends.
 */
final class ServeOptions extends ConfigOptions {
  @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to bind (gateway.host).")
  String host;

  @Option(names = "--port", paramLabel = "PORT", description = "Port to bind (gateway.port).")
  Integer port;

  @Option(
      names = "--admin-port",
      paramLabel = "PORT",
      description = "The operator's port, serving /metrics (admin.port; 0 picks a free one).")
  Integer adminPort;

  @Option(
      names = "--database-url",
      paramLabel = "URL",
      description = "PostgreSQL URL (store.database.url); empty for the embedded database.")
  String databaseUrl;

  @Option(
      names = "--redis-url",
      paramLabel = "URL",
      description =
          "Redis URL (store.redis.url): redis://host:6379, or"
              + " redis-sentinel://host:26379[,host:port...]/#<master> through Redis Sentinel, or"
              + " redis-cluster://host:port[,host:port...] (seed nodes) for a Redis Cluster;"
              + " [[user:]password@] before the first host, rediss... schemes for TLS;"
              + " empty for the in-process bus.")
  String redisUrl;

  @Option(names = "--node-id", paramLabel = "ID", description = "This node's id (node-id).")
  String nodeId;

  @Option(
      names = "--log-format",
      paramLabel = "FORMAT",
      description = "text or json (logging.format).")
  String logFormat;

  @Option(
      names = "--allow-dev-sign-in-on-public-address",
      description =
          "Start even though the passwordless development sign-in is on and --host is not a"
              + " loopback address (web.dev-sign-in-on-public-address). Anyone who reaches the"
              + " node can then sign in as anyone.")
  boolean allowDevSignInOnPublicAddress;

  @Override
  void addFlags(Map<String, Flag> out) {
    put(out, "gateway.host", "--host", host);
    put(out, "gateway.port", "--port", port);
    put(out, "admin.port", "--admin-port", adminPort);
    put(out, "store.database.url", "--database-url", databaseUrl);
    put(out, "store.redis.url", "--redis-url", redisUrl);
    put(out, "node-id", "--node-id", nodeId);
    put(out, "logging.format", "--log-format", logFormat);
    if (allowDevSignInOnPublicAddress) {
      put(out, "web.dev-sign-in-on-public-address", "--allow-dev-sign-in-on-public-address", true);
    }
  }
}
