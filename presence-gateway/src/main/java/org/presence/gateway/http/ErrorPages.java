package org.presence.gateway.http;

import io.netty.handler.codec.http.HttpHeaders;
import java.util.function.Consumer;
import org.presence.protocol.error.ErrorCode;

/** Renders the styled error page of {@code code} as the answer to a browser's request. */
@FunctionalInterface
public interface ErrorPages {
  /** Renders the page; {@code more}, when not null, adds headers (the {@code Allow} of a 405). */
  void render(HttpExchange exchange, ErrorCode code, String reason, Consumer<HttpHeaders> more);
}
