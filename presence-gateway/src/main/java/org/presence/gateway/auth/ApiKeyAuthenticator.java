package org.presence.gateway.auth;

import java.util.concurrent.CompletionStage;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.app.Secrets;
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
