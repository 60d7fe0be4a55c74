package org.presence.gateway.permission;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.net.URI;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.config.GrantsConfig;
import org.presence.gateway.http.RetryLaterException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ShownText;
import org.presence.store.app.Application;
import org.presence.store.permission.Grant;
import org.presence.store.permission.GrantRepository;
import org.presence.store.permission.PuidState;
import org.presence.store.permission.Puids;

/**
 * The user's side of wiki section 3: consent to an application, the grants (the seeds'
 * Presence-Authentications rows) with their PUIDs, pausing, resuming and revoking. Used by the
 * consent and settings pages and by the JSON API; knows nothing of HTTP.
 *
 * <p>Applications may only be granted while active (verified domain and a working API key). A grant
 * of the same user, application and user string returns the same PUID; a revoked PUID never comes
 * back.
 *
 * <p>Cache of enabled grants, the hot read of presence routing:
 *
 * <ul>
 *   <li>key: the user ({@code sub}); value: their grants that are not paused;
 *   <li>bound: {@code caches.grants.max-size} users; ttl: {@code caches.grants.ttl};
 *   <li>invalidated ({@code grants:<sub>}) on every node after each grant, pause, resume and revoke
 *       of that user.
 * </ul>
 *
 * <p>Limits (issue 12 item 5), since every grant is one more PUID that each presence change of the
 * user reaches: a user holds at most {@code grants.max-per-app} live grants for one application and
 * {@code grants.max-per-user} in all ({@code TOO_MANY_GRANTS}, checked by the repository under a
 * per-user lock, so across nodes), and makes at most {@code grants.rate} grant requests per second
 * on a node, {@code grants.burst} at once ({@code GRANT_RATE_LIMITED}, before any database work).
 */
public final class GrantService {
  /** Invalidation kind. */
  public static final String KIND = "grants";

  /** Longest user string (the {@code grants.user_string} column). */
  public static final int MAX_USER_STRING = 100;

  /**
   * A checked consent request, ready to show.
   *
   * @param app the application asking, active
   * @param redirect where the answer goes, on the application's domain
   * @param userString how the user appears to the application
   */
  public record Consent(Application app, URI redirect, String userString) {}

  /**
   * A grant with what the settings page shows about its application.
   *
   * @param grant the stored grant
   * @param appName the application's name (or {@code #id} if it is gone)
   * @param appDomain its domain, or empty
   */
  public record GrantView(Grant grant, String appName, String appDomain) {}

  /** What happened to a grant. */
  public enum Change {
    /** A user granted an application (or confirmed an existing grant). */
    GRANTED,
    /** The user paused the grant. */
    PAUSED,
    /** The user resumed the grant. */
    RESUMED,
    /** The user revoked the grant; its PUID is dead. */
    REVOKED
  }

  /**
   * Hears of grant changes once they are committed and the caches invalidated, before the caller
   * gets its answer (the app update feature sends the application an offline update or the user's
   * current presence).
   */
  @FunctionalInterface
  public interface Listener {
    /** {@code grant} went through {@code change}; the answer waits for the returned stage. */
    CompletionStage<Void> changed(Change change, Grant grant);
  }

  private final GrantRepository grants;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final AppCache apps;
  private final Invalidations invalidations;
  private final AsyncLoadingCache<String, List<Grant>> enabled;
  private final GrantRepository.Limits limits;
  private final GrantRateLimiter limiter;

  public GrantService(
      GrantRepository grants,
      AppCache apps,
      Invalidations invalidations,
      CachesConfig.Spec spec,
      GrantsConfig config) {
    this.grants = grants;
    this.apps = apps;
    this.invalidations = invalidations;
    this.limits = new GrantRepository.Limits(config.maxPerApp(), config.maxPerUser());
    this.limiter = new GrantRateLimiter(config.rate(), config.burst(), spec.maxSize());
    this.enabled =
        Caffeine.newBuilder()
            .maximumSize(spec.maxSize())
            .expireAfterWrite(spec.ttl())
            .buildAsync(
                (String user, java.util.concurrent.Executor ex) ->
                    grants
                        .listByUser(user)
                        .thenApply(all -> all.stream().filter(Grant::enabled).toList())
                        .toCompletableFuture());
    invalidations.register(KIND, user -> enabled.synchronous().invalidate(user));
  }

  /**
   * Checks a consent request: the application exists and is active, the redirect is on its domain,
   * the user string is acceptable.
   */
  public CompletionStage<Consent> prepare(long appId, String redirect, String userString) {
    return activeApp(appId)
        .thenApply(
            app ->
                new Consent(
                    app, RedirectRules.check(app.domain(), redirect), userString(userString)));
  }

  /**
   * Grants {@code appId} the presence of {@code user} as {@code userString}: the PUID of the
   * existing grant for the same three, or a new one within the caps. Each call takes a token of the
   * user's rate limit.
   */
  public CompletionStage<Grant> grant(String user, long appId, String userString) {
    String str;
    try {
      str = userString(userString);
    } catch (ProtocolException e) {
      return CompletableFuture.failedFuture(e);
    }
    long wait = limiter.take(user);
    if (wait > 0) {
      return CompletableFuture.failedFuture(
          new RetryLaterException(ErrorCode.GRANT_RATE_LIMITED, wait));
    }
    return activeApp(appId)
        .thenCompose(app -> grants.grant(user, appId, str, limits))
        .thenCompose(g -> changed(user, g, Change.GRANTED));
  }

  /**
   * What Allow on the consent page does: {@link #grant}, and when the grant of the same user,
   * application and user string exists but is paused, resumes it (the user consents again on that
   * page, and the application is sent its PUID, which must then carry their presence). A new or
   * enabled grant is answered as {@link #grant} answers it.
   */
  public CompletionStage<Grant> allow(String user, long appId, String userString) {
    return grant(user, appId, userString)
        .thenCompose(g -> g.enabled() ? CompletableFuture.completedFuture(g) : resume(user, g));
  }

  private CompletionStage<Grant> resume(String user, Grant g) {
    return grants
        .setEnabled(user, g.puid(), true)
        .thenCompose(now -> changed(user, mine(now), Change.RESUMED));
  }

  /**
   * The user's grants with their applications' names, by application. The applications are read
   * through the cache in one call ({@link AppCache#findAll}): one database call at most, whatever
   * the number of grants.
   */
  public CompletionStage<List<GrantView>> list(String user) {
    return grants
        .listByUser(user)
        .thenCompose(
            all -> {
              Set<Long> ids = new LinkedHashSet<>();
              for (Grant g : all) {
                ids.add(g.appId());
              }
              return apps.findAll(ids)
                  .thenApply(
                      found ->
                          all.stream()
                              .map(
                                  g -> {
                                    Optional<Application> app =
                                        found.getOrDefault(g.appId(), Optional.empty());
                                    return new GrantView(
                                        g,
                                        app.map(Application::name).orElse("#" + g.appId()),
                                        app.map(Application::domain).orElse(""));
                                  })
                              .toList());
            });
  }

  /** The name of application {@code appId}, or empty when there is no such application. */
  public CompletionStage<Optional<String>> appName(long appId) {
    return apps.find(appId).thenApply(app -> app.map(Application::name));
  }

  /**
   * Pauses ({@code false}) or resumes ({@code true}) the user's grant with this PUID. A string that
   * is no PUID ({@link Puids#wellFormed}) is {@code UNKNOWN_PUID} without a lookup.
   */
  public CompletionStage<Grant> setEnabled(String user, String puid, boolean on) {
    if (!Puids.wellFormed(puid)) {
      return CompletableFuture.failedFuture(new ProtocolException(ErrorCode.UNKNOWN_PUID));
    }
    return grants
        .setEnabled(user, puid, on)
        .thenCompose(g -> changed(user, mine(g), on ? Change.RESUMED : Change.PAUSED));
  }

  /**
   * Revokes the user's grant with this PUID; the PUID is dead from now on. A string that is no PUID
   * is {@code UNKNOWN_PUID} without a lookup.
   */
  public CompletionStage<Grant> revoke(String user, String puid) {
    if (!Puids.wellFormed(puid)) {
      return CompletableFuture.failedFuture(new ProtocolException(ErrorCode.UNKNOWN_PUID));
    }
    return grants.revoke(user, puid).thenCompose(g -> changed(user, mine(g), Change.REVOKED));
  }

  /** The user's grants that are not paused (cached): where their presence may go. */
  public CompletionStage<List<Grant>> enabledGrants(String user) {
    return enabled.get(user);
  }

  /** What {@code puid} means to {@code appId} now (notifications check this). */
  public CompletionStage<PuidState> puidState(long appId, String puid) {
    return grants.puidState(appId, puid);
  }

  private CompletionStage<Application> activeApp(long appId) {
    return apps.find(appId)
        .thenApply(
            found -> {
              Application app =
                  found.orElseThrow(
                      () -> new ProtocolException(ErrorCode.UNKNOWN_APP, "#" + appId));
              if (!app.domainVerified()) {
                throw new ProtocolException(ErrorCode.APP_NOT_VERIFIED, app.name());
              }
              if (!app.active()) {
                throw new ProtocolException(ErrorCode.APP_NOT_ACTIVE, app.name());
              }
              return app;
            });
  }

  /**
   * The trimmed user string: 1–100 characters of one line of visible text ({@link ShownText}: an
   * application shows it to the user).
   */
  public static String userString(String raw) {
    String s = raw == null ? "" : raw.strip();
    if (s.isEmpty()) {
      throw new ProtocolException(ErrorCode.INVALID_USER_STRING, "id is required");
    }
    if (s.length() > MAX_USER_STRING) {
      throw new ProtocolException(
          ErrorCode.INVALID_USER_STRING, "at most " + MAX_USER_STRING + " characters");
    }
    String problem = ShownText.problem(s);
    if (problem != null) {
      throw new ProtocolException(ErrorCode.INVALID_USER_STRING, problem);
    }
    return s;
  }

  private static Grant mine(Optional<Grant> g) {
    return g.orElseThrow(() -> new ProtocolException(ErrorCode.UNKNOWN_PUID));
  }

  /** Adds a listener of grant changes. */
  public void listen(Listener listener) {
    listeners.add(listener);
  }

  private CompletionStage<Grant> changed(String user, Grant g, Change change) {
    CompletionStage<Void> done = invalidations.publish(KIND, user);
    for (Listener l : listeners) {
      done = done.thenCompose(v -> l.changed(change, g));
    }
    return done.thenApply(v -> g);
  }
}
