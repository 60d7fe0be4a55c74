package org.presence.loadtest.transport;

import java.net.URI;

/** Turns a target's base URL (http, https, ws or wss) into WebSocket and HTTP URLs. */
public final class Urls {
  private Urls() {}

  /** The ws:// (or wss://) URL of {@code path} on {@code base}. */
  public static URI webSocket(URI base, String path) {
    String scheme =
        switch (base.getScheme()) {
          case "https", "wss" -> "wss";
          default -> "ws";
        };
    return URI.create(scheme + "://" + authority(base) + join(base, path));
  }

  /** The http:// (or https://) URL of {@code path} (which may carry a query) on {@code base}. */
  public static URI http(URI base, String path) {
    String scheme =
        switch (base.getScheme()) {
          case "https", "wss" -> "https";
          default -> "http";
        };
    return URI.create(scheme + "://" + authority(base) + join(base, path));
  }

  /** Whether {@code base} names a loopback host (127.0.0.0/8, localhost or ::1). */
  public static boolean isLoopback(URI base) {
    String h = base.getHost();
    return h != null
        && (h.startsWith("127.") || h.equals("localhost") || h.equals("[::1]") || h.equals("::1"));
  }

  private static String authority(URI base) {
    return base.getHost() + (base.getPort() > 0 ? ":" + base.getPort() : "");
  }

  private static String join(URI base, String path) {
    String prefix = base.getPath() == null ? "" : base.getPath();
    if (prefix.endsWith("/")) {
      prefix = prefix.substring(0, prefix.length() - 1);
    }
    return prefix + path;
  }
}
