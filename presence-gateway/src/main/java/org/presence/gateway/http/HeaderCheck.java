package org.presence.gateway.http;

import io.netty.handler.codec.http.HttpRequest;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.error.ProtocolException;

/**
 * What a route can decide from a request's header alone (the caller's API key, the application's
 * state, the media type), checked before any byte of the body is aggregated: a caller the route
 * would refuse anyway costs no body memory. The aggregator runs it once the header is complete,
 * with the connection's reads paused until it completes (an answer from a cache completes at once);
 * a refusal is answered with its errno and {@code Connection: close}, and the body is never read. A
 * request expecting {@code 100-continue} gets the {@code 100 Continue} only once the check passes.
 *
 * <p>It decides nothing the handler does not check again: a request that passes still goes to its
 * handler, which makes its own checks (a request whose body arrived whole before the check
 * completed is handed on without waiting for it).
 */
@FunctionalInterface
public interface HeaderCheck {
  /**
   * Completes with {@code null} to read the body, or with the refusal. Must not throw; a check that
   * completes exceptionally (a store that does not answer) lets the request go on to its handler.
   * The request's body is not there; {@code params} are the route's path parameters.
   */
  CompletionStage<ProtocolException> check(HttpRequest request, Map<String, String> params);
}
