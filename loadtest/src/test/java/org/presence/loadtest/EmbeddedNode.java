package org.presence.loadtest;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.presence.gateway.PresenceServer;
import org.presence.gateway.config.ConfigLoader;

/**
 * A real Presence node in the test's JVM, on the embedded default: free loopback ports for the
 * gateway and the admin listener, no XMPP listener, a short drain, its data (and the development
 * signing key the harness mints tokens with, {@code dev-identity.jwk}) under {@code data}.
 */
public final class EmbeddedNode {
  private EmbeddedNode() {}

  /** The node's settings, to add to before {@link #start}. */
  public static Map<String, String> settings(Path data, String nodeId) {
    Map<String, String> s = new HashMap<>();
    s.put("gateway.port", "0");
    s.put("admin.port", "0");
    s.put("gateway.drain-timeout", "1s");
    s.put("data-dir", data.toString());
    s.put("node-id", nodeId);
    s.put("xmpp.port", "off");
    return s;
  }

  /** Starts a node with {@code settings}; close it when done. */
  public static PresenceServer start(Map<String, String> settings) {
    return PresenceServer.start(ConfigLoader.load(null, Map.of(), settings));
  }
}
