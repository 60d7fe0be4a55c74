package org.presence.gateway.apps;

import java.time.Clock;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.presence.gateway.api.ApiCalls;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.api.UserApi;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.app.AppService;
import org.presence.gateway.app.DomainVerifier;
import org.presence.gateway.auth.ApiKeyAuthenticator;
import org.presence.gateway.auth.OidcSignIn;
import org.presence.gateway.auth.WebSessions;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.http.CallerRateLimit;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.outbound.AddressPolicy;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.gateway.pages.GrantPages;
import org.presence.gateway.pages.PageSupport;
import org.presence.gateway.pages.PortalPages;
import org.presence.gateway.pages.SettingsPages;
import org.presence.gateway.pages.SignInPages;
import org.presence.gateway.pages.Templates;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.settings.SettingsService;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.Store;
import org.presence.store.limit.LocalTokenBuckets;

/**
 * Applications and permissions (wiki sections 2 and 3), wired: the services over the store, their
 * caches and cross-node invalidation, the guarded outbound client, and the routes of the portal,
 * consent and settings pages and their JSON API twins. {@link PresenceServer} builds one per node;
 * later features reach the services through it (API key checks, enabled grants, PUID states, the
 * guarded client for webhooks).
 */
public final class AppFeatures implements AutoCloseable {
  private final GuardedHttpClient outbound;
  private final Invalidations invalidations;
  private final AppCache appCache;
  private final AppService apps;
  private final ApiKeyAuthenticator apiKeys;
  private final GrantService grants;
  private final SettingsService settings;
  private final PageSupport pages;
  private final OidcSignIn oidc;
  private final IdentityVerifier identity;
  private final ApiCalls calls;
  private final Supplier<String> baseUrl;
  private final Clock clock;
  private final boolean demo;
  private final CallerRateLimit testCalls;
  private volatile SettingsPages settingsPages;
  private volatile PortalPages portalPages;

  private AppFeatures(
      PresenceConfig config,
      Store store,
      IdentityVerifier identity,
      Supplier<String> baseUrl,
      Clock clock) {
    this.identity = identity;
    this.calls = new ApiCalls(identity);
    this.baseUrl = baseUrl;
    this.demo = config.updates().demo();
    this.clock = clock;
    this.outbound = new GuardedHttpClient(config.outbound(), new AddressPolicy(config.outbound()));
    this.invalidations = new Invalidations(store.bus());
    var persistence = store.persistence();
    this.appCache = new AppCache(persistence.apps(), config.caches().apiKeys(), invalidations);
    this.apps =
        new AppService(
            persistence.apps(),
            new DomainVerifier(
                outbound,
                config.apps().verifyTimeout(),
                config.apps().verifyMaxBytes(),
                config.apps().verifyOverHttp()),
            outbound,
            invalidations,
            config.apps(),
            new CallerRateLimit(
                store.tokenBuckets(
                    "verify", config.apps().verifyRate(), config.apps().verifyBurst()),
                ErrorCode.SLOW_DOWN));
    this.testCalls =
        new CallerRateLimit(
            store.tokenBuckets(
                "webhook-test", config.webhooks().testRate(), config.webhooks().testBurst()),
            ErrorCode.SLOW_DOWN);
    this.apiKeys = new ApiKeyAuthenticator(appCache);
    this.grants =
        new GrantService(
            persistence.grants(),
            appCache,
            invalidations,
            config.caches().grants(),
            config.grants());
    this.settings =
        new SettingsService(
            persistence.settings(),
            invalidations,
            config.caches().settings(),
            new CallerRateLimit(
                store.tokenBuckets("settings", config.settings().rate(), config.settings().burst()),
                ErrorCode.SLOW_DOWN),
            // Reads are limited on each node: a read changes nothing another node must know of,
            // so the limit costs no store round trip, and a cluster of n nodes allows n times it.
            new CallerRateLimit(
                new LocalTokenBuckets(
                    config.settings().readRate(),
                    config.settings().readBurst(),
                    config.caches().settings().maxSize()),
                ErrorCode.SLOW_DOWN));
    boolean tls =
        config.tls().enabled()
            || config.gateway().publicUrl().toLowerCase(java.util.Locale.ROOT).startsWith("https:");
    this.pages =
        new PageSupport(
            new Templates(),
            WebSessions.create(
                config.web(), config.dataDir(), clock, persistence.db(), invalidations),
            tls,
            config.web().devSignIn());
    if (config.tls().sendsHsts()) {
      pages.sendHsts();
    }
    this.oidc =
        config.web().oidc().enabled()
            ? new OidcSignIn(
                config.web().oidc(),
                outbound,
                persistence.db(),
                baseUrl,
                config.identity().clockSkew(),
                clock)
            : null;
  }

  /**
   * Builds the features and subscribes to cache invalidations from other nodes (waiting for the
   * subscription, so that no invalidation published after start is missed).
   */
  public static AppFeatures start(
      PresenceConfig config, Store store, IdentityVerifier identity, Supplier<String> baseUrl) {
    AppFeatures f = new AppFeatures(config, store, identity, baseUrl, Clock.systemUTC());
    try {
      f.invalidations.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      f.close();
      throw new IllegalStateException("cannot subscribe to cache invalidations: " + e, e);
    }
    f.settings.start();
    return f;
  }

  /**
   * Lets the JSON API's calls a device makes itself ({@code GET /api/settings}) take the tokens of
   * paired devices while {@code active} says they are not revoked; until then they are refused.
   */
  public void attachPairedDevices(Function<String, CompletionStage<Boolean>> active) {
    calls.attachPairedDevices(active);
  }

  /** Adds the pages and the JSON API. */
  public void register(HttpRoutes.Builder routes) {
    new AppsApi(apps, calls, baseUrl).register(routes);
    new UserApi(grants, settings, calls).register(routes);
    new SignInPages(pages, identity, oidc, clock, demo).register(routes);
    portalPages = new PortalPages(pages, apps, baseUrl, testCalls);
    portalPages.register(routes);
    settingsPages = new SettingsPages(pages, grants, settings);
    settingsPages.register(routes);
    new GrantPages(pages, grants).register(routes);
  }

  /** Application registration, domain proof, keys, webhooks. */
  public AppService apps() {
    return apps;
  }

  /** Applications by id, cached (API key checks, webhooks). */
  public AppCache appCache() {
    return appCache;
  }

  /** API key checks (update channel, notifications). */
  public ApiKeyAuthenticator apiKeys() {
    return apiKeys;
  }

  /** Grants, PUIDs, enabled grants per user. */
  public GrantService grants() {
    return grants;
  }

  /** Users' presence policy and messages. */
  public SettingsService settings() {
    return settings;
  }

  /** The guarded client for developer-given URLs (webhooks reuse it). */
  public GuardedHttpClient outbound() {
    return outbound;
  }

  /** Sessions, forms and rendering for pages of later features (the demo page). */
  public PageSupport pages() {
    return pages;
  }

  /** The developer portal (once {@link #register}ed), for what other features add (webhooks). */
  public PortalPages portalPages() {
    return portalPages;
  }

  /** The settings page (once {@link #register}ed), for sections other features add. */
  public SettingsPages settingsPages() {
    return settingsPages;
  }

  /** Cross-node cache invalidation. */
  public Invalidations invalidations() {
    return invalidations;
  }

  @Override
  public void close() {
    settings.close();
    outbound.close();
  }
}
