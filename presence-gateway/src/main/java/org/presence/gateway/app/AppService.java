package org.presence.gateway.app;

import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.AppsConfig;
import org.presence.gateway.http.CallerRateLimit;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.gateway.outbound.OutboundException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.AppRepository;
import org.presence.store.app.AppState;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;

/**
 * The developer's side of wiki section 2: register an application, prove its domain, activate it
 * (an API key, shown once), regenerate or drop the key, set the webhook. Used by the portal pages
 * and the JSON API alike; knows nothing of HTTP.
 *
 * <p>Every method acts for one developer (the identity's subject) and refuses applications of
 * others with {@code FORBIDDEN}. Refusals are {@link ProtocolException}s with the code to answer;
 * nothing changes when one is thrown. Every change invalidates the application's cache entry on
 * every node before the returned stage completes, so a regenerated key stops working at once.
 */
public final class AppService {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AppService.class);

  /**
   * An API key just made: the only moment it exists outside its owner's hands.
   *
   * @param app the application, now active (or verified again, after a resume: see {@link #resume})
   * @param apiKey the key, 1024 characters; null when the application got none
   */
  public record IssuedKey(Application app, String apiKey) {}

  private final AppRepository apps;
  private final DomainVerifier verifier;
  private final GuardedHttpClient outbound;
  private final Invalidations invalidations;
  private final AppsConfig config;
  private final CallerRateLimit proofs;

  public AppService(
      AppRepository apps,
      DomainVerifier verifier,
      GuardedHttpClient outbound,
      Invalidations invalidations,
      AppsConfig config,
      CallerRateLimit proofs) {
    this.apps = apps;
    this.verifier = verifier;
    this.outbound = outbound;
    this.invalidations = invalidations;
    this.config = config;
    this.proofs = proofs;
  }

  /** Registers an application for {@code developer}; it starts unverified with a fresh key. */
  public CompletionStage<Application> register(
      Identity developer, String name, String domain, String description) {
    return register(developer, name, domain, description, null);
  }

  /**
   * {@link #register(Identity, String, String, String)}, once per {@code registerKey} (the Register
   * form's id; null: none): when the developer already made an application with that key, on any
   * node, that application is the answer and nothing new is made, even when the developer has as
   * many applications as allowed.
   */
  public CompletionStage<Application> register(
      Identity developer, String name, String domain, String description, String registerKey) {
    NewApplication app;
    try {
      app = newApplication(developer, name, domain, description, registerKey);
    } catch (ProtocolException e) {
      return CompletableFuture.failedFuture(e);
    }
    return create(app);
  }

  /** The application to store, its fields checked and normalized ({@link AppFields}). */
  private static NewApplication newApplication(
      Identity developer, String name, String domain, String description, String registerKey) {
    return new NewApplication(
        AppFields.name(name),
        AppFields.domain(domain),
        AppFields.description(description),
        developer.subject(),
        developer.email(),
        Secrets.newKey(),
        registerKey);
  }

  private CompletionStage<Application> create(NewApplication app) {
    // The store counts and inserts under the developer's lock (exact across nodes) and answers a
    // register key the developer used with its application, whatever the count.
    return apps.createWithin(app, config.maxPerDeveloper())
        .thenApply(
            made ->
                made.orElseThrow(
                    () ->
                        new ProtocolException(
                            ErrorCode.TOO_MANY_APPS, "at most " + config.maxPerDeveloper())));
  }

  /** The longest {@code Idempotency-Key} taken (a UUID is 36 characters). */
  public static final int MAX_IDEMPOTENCY_KEY = NewApplication.MAX_REGISTER_KEY - 4;

  /**
   * The API's registration ({@code POST /api/apps}), once per {@code idempotencyKey} when one is
   * given: the call sent again (a retry after a timeout, on any node) answers with the application
   * the first one made; the key used before with another name, domain or description is {@link
   * ErrorCode#IDEMPOTENCY_KEY_REUSED}. The key is stored as the application's register key, in its
   * own namespace ({@code api:}; a Register form's id never holds a colon).
   */
  public CompletionStage<Application> registerOnce(
      Identity developer, String name, String domain, String description, String idempotencyKey) {
    if (idempotencyKey == null) {
      return register(developer, name, domain, description);
    }
    NewApplication app;
    try {
      app = newApplication(developer, name, domain, description, "api:" + idempotencyKey);
    } catch (ProtocolException e) {
      return CompletableFuture.failedFuture(e);
    }
    return create(app)
        .thenApply(
            made -> {
              if (!made.name().equals(app.name())
                  || !made.domain().equals(app.domain())
                  || !made.description().equals(app.description())) {
                throw new ProtocolException(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key registered application "
                        + made.id()
                        + " with other fields");
              }
              return made;
            });
  }

  /** Whether plain HTTP may prove a domain on this node (development). */
  public boolean verifyOverHttp() {
    return verifier.overHttp();
  }

  /** The developer's applications, oldest first. */
  public CompletionStage<List<Application>> list(String developer) {
    return apps.listByOwner(developer);
  }

  /** One of the developer's applications. */
  public CompletionStage<Application> get(String developer, long id) {
    return apps.find(id).thenApply(found -> owned(developer, id, found));
  }

  /**
   * Runs the domain proof. An application already verified (or active) stays as it is without a new
   * fetch. Each proof takes a token of the developer's rate of proofs ({@code apps.verify-rate},
   * {@code apps.verify-burst}); without one it fails with {@code SLOW_DOWN} (40, a {@link
   * org.presence.gateway.http.RetryLaterException}) and sends nothing.
   */
  public CompletionStage<Application> verify(String developer, long id) {
    return get(developer, id)
        .thenCompose(
            app -> {
              if (app.domainVerified()) {
                return CompletableFuture.completedFuture(app);
              }
              // Each proof sends requests to the developer's domain: limited per developer.
              return proofs
                  .take(developer)
                  .thenCompose(v -> verifier.verify(app.domain(), app.verificationKey()))
                  .thenCompose(ok -> apps.markVerified(id))
                  .thenCompose(updated -> changed(id, present(id, updated)));
            });
  }

  /** Activates a verified application: makes its first API key. */
  public CompletionStage<IssuedKey> activate(String developer, long id) {
    return get(developer, id)
        .thenCompose(
            app -> {
              if (app.suspended()) {
                throw suspended();
              }
              if (app.state() == AppState.REGISTERED) {
                throw new ProtocolException(ErrorCode.APP_NOT_VERIFIED, "verify the domain first");
              }
              if (app.state() == AppState.ACTIVE) {
                throw new ProtocolException(
                    ErrorCode.INVALID_APP_STATE, "already active; regenerate the key instead");
              }
              return issueKey(id, ErrorCode.APP_NOT_VERIFIED);
            });
  }

  /** Replaces the API key of an active application; the old key stops working at once. */
  public CompletionStage<IssuedKey> regenerateKey(String developer, long id) {
    return get(developer, id)
        .thenCompose(
            app -> {
              if (app.suspended()) {
                throw suspended();
              }
              if (!app.active()) {
                throw new ProtocolException(ErrorCode.APP_NOT_ACTIVE, "activate it first");
              }
              return issueKey(id, ErrorCode.APP_NOT_ACTIVE);
            });
  }

  private static ProtocolException suspended() {
    return new ProtocolException(
        ErrorCode.APP_SUSPENDED, "the operator suspended it; only they can resume it");
  }

  private CompletionStage<IssuedKey> issueKey(long id, ErrorCode whenGone) {
    String key = Secrets.newKey();
    return apps.activate(id, Secrets.hash(key))
        .thenCompose(
            updated -> {
              if (updated.isEmpty()) {
                // Changed under us (deactivated or suspended) between the read and the write.
                return apps.find(id)
                    .thenApply(
                        now -> {
                          throw now.isPresent() && now.get().suspended()
                              ? suspended()
                              : new ProtocolException(whenGone);
                        });
              }
              return changed(id, updated.get());
            })
        .thenApply(app -> new IssuedKey(app, key));
  }

  /** Drops the API key of an active application; it returns to verified. */
  public CompletionStage<Application> deactivate(String developer, long id) {
    return get(developer, id)
        .thenCompose(
            app -> {
              if (!app.active()) {
                throw new ProtocolException(
                    ErrorCode.APP_NOT_ACTIVE, "only an active application can be deactivated");
              }
              return apps.deactivate(id);
            })
        .thenCompose(
            updated -> {
              if (updated.isEmpty()) {
                throw new ProtocolException(
                    ErrorCode.APP_NOT_ACTIVE, "it was deactivated meanwhile");
              }
              return changed(id, updated.get());
            });
  }

  /**
   * Sets the webhook URL after checking its form and that its host resolves only to addresses the
   * address guard allows. The signing secret is made with the first URL and kept when the URL
   * changes.
   */
  public CompletionStage<Application> setWebhook(String developer, long id, String url) {
    URI uri;
    try {
      uri = AppFields.webhookUrl(url);
    } catch (ProtocolException e) {
      return CompletableFuture.failedFuture(e);
    }
    return get(developer, id)
        .thenCompose(
            app ->
                outbound
                    .check(uri)
                    .handle(
                        (address, failure) -> {
                          if (failure != null) {
                            throw webhookRefused(id, failure);
                          }
                          return app;
                        }))
        .thenCompose(
            app -> {
              String secret =
                  app.webhookSecret() != null ? app.webhookSecret() : Secrets.newWebhookSecret();
              return apps.setWebhook(id, uri.toString(), secret);
            })
        .thenCompose(updated -> changed(id, present(id, updated)));
  }

  /** Removes the webhook URL and its secret. */
  public CompletionStage<Application> clearWebhook(String developer, long id) {
    return get(developer, id)
        .thenCompose(app -> apps.setWebhook(id, null, null))
        .thenCompose(updated -> changed(id, present(id, updated)));
  }

  // ---------------------------------------------------------------------------------------------
  // The operator's actions (the admin API): any application, whoever owns it.

  /** Any application, for the operator; {@code UNKNOWN_APP} when there is none. */
  public CompletionStage<Application> find(long id) {
    return apps.find(id).thenApply(found -> present(id, found));
  }

  /**
   * Suspends an application whose domain is proven (active, or verified: one its developer
   * deactivated or has not activated yet) for the operator: its API key, if any, is dropped (it
   * returns to verified), so its key, update connections and notifications stop working on every
   * node, and only {@link #resume} gives it a key again.
   */
  public CompletionStage<Application> suspend(long id) {
    return find(id)
        .thenCompose(
            app -> {
              if (app.suspended()) {
                throw new ProtocolException(ErrorCode.INVALID_APP_STATE, "already suspended");
              }
              if (!app.domainVerified()) {
                throw new ProtocolException(
                    ErrorCode.APP_NOT_VERIFIED,
                    "its domain is not proven: it has no key to suspend, and gets none before");
              }
              return apps.suspend(id);
            })
        .thenCompose(
            updated -> {
              if (updated.isEmpty()) {
                throw new ProtocolException(
                    ErrorCode.INVALID_APP_STATE, "it was suspended meanwhile");
              }
              LOG.info("app {} suspended by the operator", id);
              return changed(id, updated.get());
            });
  }

  /**
   * Resumes an application the operator suspended, as it was: one that was active gets a new API
   * key, returned here once; one that was only verified (never activated, or deactivated by its
   * developer) is verified again, its developer's to activate (no key: {@link IssuedKey#apiKey} is
   * null). One that is not suspended is not the operator's to activate: {@code INVALID_APP_STATE}.
   */
  public CompletionStage<IssuedKey> resume(long id) {
    return find(id)
        .thenCompose(
            app -> {
              if (app.state() == AppState.ACTIVE) {
                throw new ProtocolException(ErrorCode.INVALID_APP_STATE, "already active");
              }
              if (!app.suspended()) {
                throw new ProtocolException(
                    ErrorCode.INVALID_APP_STATE,
                    "not suspended: its developer deactivated it or never activated it");
              }
              String key = Secrets.newKey();
              return apps.resume(id, Secrets.hash(key))
                  .thenCompose(
                      updated -> {
                        if (updated.isEmpty()) {
                          throw new ProtocolException(
                              ErrorCode.INVALID_APP_STATE, "it was resumed meanwhile");
                        }
                        LOG.info("app {} resumed by the operator", id);
                        return changed(id, updated.get());
                      })
                  .thenApply(
                      resumed ->
                          new IssuedKey(resumed, resumed.state() == AppState.ACTIVE ? key : null));
            });
  }

  /** Revokes the API key of an active application for the operator, making a new one. */
  public CompletionStage<IssuedKey> revokeKey(long id) {
    return find(id)
        .thenCompose(
            app -> {
              if (!app.active()) {
                throw new ProtocolException(
                    ErrorCode.APP_NOT_ACTIVE, "only an active application has a key to revoke");
              }
              LOG.info("app {}: key revoked by the operator", id);
              return issueKey(id, ErrorCode.APP_NOT_ACTIVE);
            });
  }

  /** A refused webhook URL: a fixed reason for the developer, what went wrong in the log. */
  private static RuntimeException webhookRefused(long id, Throwable failure) {
    Throwable t =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    if (t instanceof OutboundException oe) {
      LOG.info("app {}: webhook URL refused: {}", id, oe.describe());
      if (oe.failure() == OutboundException.Failure.ADDRESS_NOT_ALLOWED) {
        return new ProtocolException(
            ErrorCode.ADDRESS_NOT_ALLOWED,
            "webhook_url: the host points at an address this node does not connect to");
      }
      return new ProtocolException(
          ErrorCode.INVALID_APP_FIELD, "webhook_url: the host cannot be resolved");
    }
    return t instanceof RuntimeException re ? re : new CompletionException(t);
  }

  private CompletionStage<Application> changed(long id, Application app) {
    return invalidations.publish(AppCache.KIND, Long.toString(id)).thenApply(v -> app);
  }

  private static Application present(long id, Optional<Application> app) {
    return app.orElseThrow(() -> new ProtocolException(ErrorCode.UNKNOWN_APP, "#" + id));
  }

  private static Application owned(String developer, long id, Optional<Application> found) {
    Application app = present(id, found);
    if (!app.ownerSub().equals(developer)) {
      throw new ProtocolException(ErrorCode.FORBIDDEN, "application " + id + " is not yours");
    }
    return app;
  }
}
