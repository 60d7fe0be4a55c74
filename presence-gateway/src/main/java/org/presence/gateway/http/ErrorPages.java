package org.presence.gateway.http;

import org.presence.protocol.error.ErrorCode;

/** Renders the styled error page of {@code code} as the answer to a browser's request. */
@FunctionalInterface
public interface ErrorPages {
  void render(HttpExchange exchange, ErrorCode code, String reason);
}
