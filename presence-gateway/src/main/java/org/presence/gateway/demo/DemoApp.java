package org.presence.gateway.demo;

import java.net.URI;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.app.Secrets;
import org.presence.store.app.AppRepository;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;

/**
 * The built-in demo application of the embedded default: registered on the node's own domain,
 * verified and active from the start (the node is its own site, so there is nothing to prove), and
 * owned by {@value #OWNER}, a subject no sign-in can take, so nobody can read or regenerate its
 * key. Its updates are only ever read by the node itself, for the demo page's visitor.
 */
public final class DemoApp {
  /** The owner of the demo application. */
  public static final String OWNER = "presence:demo";

  /** Its name, on the consent page. */
  public static final String NAME = "Presence demo";

  /**
   * How the demo application names its visitor on the consent page: an application passes its own
   * name for the user (their login there), never something Presence knows, such as the email.
   */
  public static final String USER_STRING = "Demo visitor";

  private final AppRepository apps;
  private volatile long id = -1;

  public DemoApp(AppRepository apps) {
    this.apps = apps;
  }

  /** The demo application's id, or -1 before {@link #ensure}. */
  public long id() {
    return id;
  }

  /** The demo application as stored (empty before {@link #ensure}). */
  public CompletionStage<Optional<Application>> application() {
    long current = id;
    return current < 0 ? CompletableFuture.completedFuture(Optional.empty()) : apps.find(current);
  }

  /**
   * Finds the demo application for the domain of {@code baseUrl} (one survives restarts on the same
   * address), or makes one. Completes with its id.
   */
  public CompletionStage<Long> ensure(String baseUrl) {
    URI u = URI.create(baseUrl);
    String domain = u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "");
    return apps.listByOwner(OWNER)
        .thenCompose(
            mine -> {
              Optional<Application> found =
                  mine.stream().filter(a -> a.domain().equals(domain) && a.active()).findFirst();
              if (found.isPresent()) {
                return CompletableFuture.completedFuture(found.get().id());
              }
              return apps.create(
                      new NewApplication(
                          NAME,
                          domain,
                          "The demo application of this node: it shows you your own presence as an"
                              + " application sees it.",
                          OWNER,
                          "demo@presence.invalid",
                          Secrets.newKey()))
                  .thenCompose(app -> apps.markVerified(app.id()).thenApply(v -> app.id()))
                  // The key is never shown: the node reads the demo's updates itself.
                  .thenCompose(
                      appId ->
                          apps.activate(appId, Secrets.hash(Secrets.newKey()))
                              .thenApply(v -> appId));
            })
        .thenApply(
            appId -> {
              id = appId;
              return appId;
            });
  }
}
