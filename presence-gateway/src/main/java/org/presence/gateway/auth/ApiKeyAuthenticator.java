package org.presence.gateway.auth;

import io.netty.handler.codec.http.HttpHeaderNames;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.app.Secrets;
import org.presence.gateway.http.HeaderCheck;
import org.presence.gateway.http.HttpExchange;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.Application;

/**
 * Checks an application's API key (wiki section 2: the update channel, notifications). The
 * application comes from the {@link AppCache} (id to stored key hash), so a check costs a SHA-256
 * and a constant-time compare, and no database read while the entry lives. Keyed by id rather than
 * by key: a caller guessing keys never reaches the database, and a regenerated or dropped key fails
 * as soon as the application's entry is invalidated.
 */
public final class ApiKeyAuthenticator {
  private final AppCache apps;

  public ApiKeyAuthenticator(AppCache apps) {
    this.apps = apps;
  }

  /**
   * The check, on a request's header, of a route whose caller is an application ({@code {appid}} in
   * its path) with its API key ({@code Authorization: Bearer}) and a JSON body: in the order and
   * with the errors the route's handler gives them ({@code UNKNOWN_APP} for an id that is not one,
   * {@code UNAUTHORIZED}, then {@link #authenticate}'s, then {@code UNSUPPORTED_MEDIA_TYPE}), so
   * that a caller without a valid key is refused before its body is read. The key is checked as
   * {@link #authenticate} checks it (the same cache, the same constant-time comparison of its
   * hash). A check that cannot complete (the store does not answer) lets the handler decide.
   */
  public HeaderCheck jsonBodyOfApplication() {
    return (request, params) -> {
      long appId;
      String appParam = params.get("appid");
      if (appParam == null || !appParam.matches("[1-9][0-9]{0,17}")) {
        // The handler names the id in its answer: left to it.
        return CompletableFuture.completedFuture(null);
      }
      appId = Long.parseLong(appParam);
      String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
      if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.length() <= 7) {
        return CompletableFuture.completedFuture(
            new ProtocolException(ErrorCode.UNAUTHORIZED, "send Authorization: Bearer <API key>"));
      }
      boolean json = HttpExchange.isJson(request.headers().get(HttpHeaderNames.CONTENT_TYPE));
      return authenticate(appId, auth.substring(7).strip())
          .handle(
              (app, failure) -> {
                if (failure == null) {
                  return json
                      ? null
                      : new ProtocolException(
                          ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send application/json");
                }
                Throwable t =
                    failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause()
                        : failure;
                return t instanceof ProtocolException p && !p.code().retryable() ? p : null;
              });
    };
  }

  /**
   * The application {@code appId} when {@code key} is its current API key. Fails with {@code
   * UNKNOWN_APP} (130), {@code APP_NOT_ACTIVE} (132) or {@code INVALID_API_KEY} (112).
   */
  public CompletionStage<Application> authenticate(long appId, String key) {
    return apps.find(appId)
        .thenApply(
            found -> {
              Application app =
                  found.orElseThrow(() -> new ProtocolException(ErrorCode.UNKNOWN_APP));
              if (!app.active()) {
                throw new ProtocolException(ErrorCode.APP_NOT_ACTIVE);
              }
              if (!Secrets.matches(key, app.apiKeyHash())) {
                throw new ProtocolException(ErrorCode.INVALID_API_KEY);
              }
              return app;
            });
  }
}
