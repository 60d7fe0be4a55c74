package org.presence.gateway.cli;

import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The flags of a client of a node ({@code device}) beyond {@link ConfigOptions}: the node's
 * address, as its configuration names it, when no {@code --url} is given.
 */
final class NodeOptions extends ConfigOptions {
  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      description = "The node's address, when not --url (gateway.host; default 127.0.0.1).")
  String host;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "The node's port to connect to, when not --url (gateway.port; default 8080).")
  Integer port;

  @Override
  void addFlags(Map<String, Flag> out) {
    put(out, "gateway.host", "--host", host);
    put(out, "gateway.port", "--port", port);
  }
}
