package org.presence.gateway.http;

/**
 * Answers one HTTP route. Runs on the connection's event loop: it must not block. It reads what it
 * needs from the request (the body is released when it returns), then answers through the {@link
 * HttpExchange} at once or later from any thread.
 */
@FunctionalInterface
public interface HttpHandler {
  void handle(HttpExchange exchange) throws Exception;
}
