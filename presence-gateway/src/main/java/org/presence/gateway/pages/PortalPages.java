package org.presence.gateway.pages;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.presence.gateway.api.ApiJson;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.app.AppService;
import org.presence.gateway.app.DomainVerifier;
import org.presence.gateway.app.Secrets;
import org.presence.gateway.auth.WebSessions;
import org.presence.gateway.http.CallerRateLimit;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.http.RetryLaterException;
import org.presence.gateway.webhook.DeliveryLog;
import org.presence.gateway.webhook.WebhookDispatcher;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.AppState;
import org.presence.store.app.Application;

/**
 * The developer portal at {@code /myapps} (wiki section 2): list my applications, register one, see
 * its verification key and where to serve it, verify, activate (the API key is shown once, in the
 * answer to that POST, and never again), regenerate or deactivate, set the webhook, see the
 * endpoints. Each action has a twin in {@link AppsApi}.
 */
public final class PortalPages {
  /** Notices after an action, by the {@code done} query value; nothing else is ever shown. */
  private static final Map<String, String> NOTICES =
      Map.of(
          "registered", "Registered. Now prove you own the domain.",
          "verified", "Domain verified. You can activate the application.",
          "deactivated", "Deactivated: the API key no longer works.",
          "webhook", "Webhook saved.",
          "activated",
              "Activated. Your service can now use the API key for presence updates and"
                  + " notifications.",
          "regenerated", "New API key made: the old one no longer works.");

  /**
   * The cookie carrying a new API key from the Activate or Regenerate POST to the page it redirects
   * to, which shows the key once and clears it (POST-redirect-GET: a refresh shows the page, not
   * "already active"). Scoped to that application's page, HttpOnly, SameSite=Strict.
   */
  static final String KEY_COOKIE = "presence_new_key";

  /** How long the key cookie may live if the redirect is never followed, in seconds. */
  static final long KEY_COOKIE_SECONDS = 120;

  private volatile WebhookDispatcher webhooks;

  /** The copy buttons' script, {@code /static/copy.js}: the only script the portal pages run. */
  private final StaticAsset copyScript =
      StaticAsset.load("text/javascript; charset=utf-8", "static/copy.js");

  private final PageSupport pages;
  private final AppService apps;
  private final Supplier<String> baseUrl;
  private final CallerRateLimit testCalls;

  /**
   * The portal; {@code testCalls} limits each developer's webhook test calls ({@code
   * webhooks.test-rate}, {@code webhooks.test-burst}).
   */
  public PortalPages(
      PageSupport pages, AppService apps, Supplier<String> baseUrl, CallerRateLimit testCalls) {
    this.pages = pages;
    this.apps = apps;
    this.baseUrl = baseUrl;
    this.testCalls = testCalls;
  }

  /** Shows each application's recent webhook calls and offers "Send a test call" through it. */
  public void attachWebhooks(WebhookDispatcher dispatcher) {
    this.webhooks = dispatcher;
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/myapps", pages.guard(this::list))
        .post("/myapps", pages.guard(this::create))
        .get("/myapps/{id}", pages.guard(this::show))
        .get("/static/copy.js", copyScript::serve)
        .post(
            "/myapps/{id}/{action:verify|activate|regenerate|deactivate|webhook|webhook-test}",
            pages.guard(this::act));
  }

  private void list(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    if (v.session().isEmpty()) {
      pages.toSignIn(ex, v, "/myapps");
      return;
    }
    showList(ex, v, HttpResponseStatus.OK, null, null, Map.of());
  }

  private void showList(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String error,
      String invalidField,
      Map<String, String> form) {
    apps.list(v.subject())
        .whenComplete(
            (list, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              Map<String, Object> m = pages.model(v, "My applications");
              m.put("apps", list.stream().map(PortalPages::summary).toList());
              m.put("hasApps", !list.isEmpty());
              m.put("error", error);
              Map<String, String> f = new HashMap<>();
              f.put("name", form.getOrDefault("name", ""));
              f.put("domain", form.getOrDefault("domain", ""));
              f.put("description", form.getOrDefault("description", ""));
              m.put("form", f);
              // The field the refusal names is marked invalid and described by the error.
              m.put("invalid", invalidField == null ? Map.of() : Map.of(invalidField, true));
              // A new id for each Register form shown: the same form sent twice (a double click,
              // the browser sending it again) makes one application.
              m.put("formId", WebSessions.newNonce());
              pages.render(ex, v, status, "myapps", m);
            });
  }

  private static Map<String, Object> summary(Application a) {
    Map<String, Object> m = new HashMap<>();
    m.put("id", a.id());
    m.put("name", a.name());
    m.put("domain", a.domain());
    m.put("state", a.state().wireName());
    return m;
  }

  private void create(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    String name = PageSupport.field(form, "name");
    String domain = PageSupport.field(form, "domain");
    String description = PageSupport.field(form, "description");
    String formId = PageSupport.field(form, "form_id");
    // The form's id goes to the database with the application: the same form sent again, to this
    // node or another, at once or later, is answered with the application the first sending made
    // (a repeat sent while the first is being stored waits for the developer's lock in the store).
    String registerKey = formId != null && formId.matches("[A-Za-z0-9_-]{16,64}") ? formId : null;
    CompletionStage<Application> call;
    try {
      call = apps.register(identity(v), name, domain, description, registerKey);
    } catch (RuntimeException thrown) {
      // Refused before any work (a field the service checks at once): as a refused sending.
      call = CompletableFuture.failedFuture(thrown);
    }
    call.whenComplete((app, failure) -> registered(ex, v, app, failure, name, domain, description));
  }

  private void registered(
      HttpExchange ex,
      PageSupport.Visitor v,
      Application app,
      Throwable failure,
      String name,
      String domain,
      String description) {
    if (failure == null) {
      pages.redirect(ex, v, "/myapps/" + app.id() + "?done=registered", null);
      return;
    }
    ProtocolException pe = PageSupport.expected(failure);
    if (pe == null) {
      pages.errorPage(ex, v, failure);
      return;
    }
    Map<String, String> typed = new HashMap<>();
    typed.put("name", clip(name));
    typed.put("domain", clip(domain));
    typed.put("description", clip(description));
    showList(
        ex,
        v,
        HttpResponseStatus.valueOf(pe.code().httpStatus()),
        pe.reason(),
        refusedField(pe),
        typed);
  }

  /**
   * The Register form's field a refusal names ({@code INVALID_APP_FIELD} "field: why"), or null.
   */
  static String refusedField(ProtocolException pe) {
    if (pe.code() != ErrorCode.INVALID_APP_FIELD || pe.detail() == null) {
      return null;
    }
    for (String field : List.of("name", "domain", "description")) {
      if (pe.detail().startsWith(field + ":")) {
        return field;
      }
    }
    return null;
  }

  private void show(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    if (v.session().isEmpty()) {
      pages.toSignIn(ex, v, ex.path());
      return;
    }
    long id;
    try {
      id = AppsApi.parseAppId(ex.param("id"));
    } catch (ProtocolException e) {
      pages.errorPage(ex, v, e);
      return;
    }
    String notice = ex.query("done").map(NOTICES::get).orElse(null);
    String path = "/myapps/" + id;
    Optional<String> newKey = pages.scopedCookie(ex, KEY_COOKIE);
    apps.get(v.subject(), id)
        .whenComplete(
            (app, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              // The key from the Activate or Regenerate just before, shown only while it is the
              // application's current key; the cookie is cleared whatever it held.
              String key =
                  newKey
                      .filter(k -> app.active() && Secrets.matches(k, app.apiKeyHash()))
                      .orElse(null);
              Consumer<HttpHeaders> clear =
                  newKey.isEmpty()
                      ? null
                      : h -> h.add(HttpHeaderNames.SET_COOKIE, pages.clearFlash(KEY_COOKIE, path));
              showApp(ex, v, HttpResponseStatus.OK, app, key, notice, null, null, clear);
            });
  }

  private void act(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    long id;
    try {
      id = AppsApi.parseAppId(ex.param("id"));
    } catch (ProtocolException e) {
      pages.errorPage(ex, v, e);
      return;
    }
    String who = v.subject();
    String action = ex.param("action");
    switch (action) {
      case "activate" -> withKey(ex, v, id, apps.activate(who, id), "activated");
      case "regenerate" -> withKey(ex, v, id, apps.regenerateKey(who, id), "regenerated");
      case "verify" -> thenShow(ex, v, id, apps.verify(who, id), "verified");
      case "deactivate" -> thenShow(ex, v, id, apps.deactivate(who, id), "deactivated");
      case "webhook-test" -> testCall(ex, v, id);
      default -> {
        String url = PageSupport.field(form, "url");
        CompletionStage<Application> done =
            url == null || url.isBlank()
                ? apps.clearWebhook(who, id)
                : apps.setWebhook(who, id, url);
        done.whenComplete(
            (app, failure) -> {
              if (failure != null) {
                failedAction(ex, v, id, failure, clip(url));
              } else {
                pages.redirect(ex, v, "/myapps/" + id + "?done=webhook", null);
              }
            });
      }
    }
  }

  /**
   * Redirects to the application's page with its new key in a cookie for that page only, which
   * shows it once (POST-redirect-GET).
   */
  private void withKey(
      HttpExchange ex,
      PageSupport.Visitor v,
      long id,
      CompletionStage<AppService.IssuedKey> key,
      String what) {
    key.whenComplete(
        (issued, failure) -> {
          if (failure != null) {
            failedAction(ex, v, id, failure, null);
          } else {
            String path = "/myapps/" + id;
            pages.redirectWithFlash(
                ex,
                v,
                path + "?done=" + what,
                KEY_COOKIE,
                issued.apiKey(),
                path,
                KEY_COOKIE_SECONDS);
          }
        });
  }

  /** Sends the webhook a test call and shows the page with its outcome at the log's top. */
  private void testCall(HttpExchange ex, PageSupport.Visitor v, long id) {
    WebhookDispatcher dispatcher = webhooks;
    if (dispatcher == null) {
      pages.errorPage(ex, v, ErrorCode.NOT_FOUND, "this node sends no webhooks");
      return;
    }
    apps.get(v.subject(), id)
        .thenCompose(
            app ->
                // A call is made only with a webhook set: only then does it take a token of the
                // developer's rate of test calls.
                app.webhookUrl() == null
                    ? dispatcher.testCall(app)
                    : testCalls.take(v.subject()).thenCompose(x -> dispatcher.testCall(app)))
        .whenComplete(
            (d, failure) -> {
              if (failure != null) {
                failedAction(ex, v, id, failure, null);
                return;
              }
              apps.get(v.subject(), id)
                  .whenComplete(
                      (app, again) -> {
                        if (again != null) {
                          pages.errorPage(ex, v, again);
                        } else if (d.ok()) {
                          showApp(
                              ex,
                              v,
                              HttpResponseStatus.OK,
                              app,
                              null,
                              testNotice(d),
                              null,
                              null,
                              null);
                        } else {
                          showApp(
                              ex,
                              v,
                              HttpResponseStatus.OK,
                              app,
                              null,
                              null,
                              testNotice(d),
                              null,
                              null);
                        }
                      });
            });
  }

  private static String testNotice(DeliveryLog.Delivery d) {
    if (d.ok()) {
      return "Test call answered " + d.status() + " in " + d.latencyMillis() + " ms.";
    }
    if (d.status() != 0) {
      return "The test call was answered "
          + d.status()
          + " in "
          + d.latencyMillis()
          + " ms: your endpoint must answer 2xx for Presence to count a call as delivered.";
    }
    return "The test call failed after " + d.latencyMillis() + " ms: " + d.failure() + ".";
  }

  private void thenShow(
      HttpExchange ex,
      PageSupport.Visitor v,
      long id,
      CompletionStage<Application> done,
      String what) {
    done.whenComplete(
        (app, failure) -> {
          if (failure != null) {
            failedAction(ex, v, id, failure, null);
          } else {
            pages.redirect(ex, v, "/myapps/" + id + "?done=" + what, null);
          }
        });
  }

  /**
   * A refused action shows the application again with the reason (verification failed, address not
   * allowed...), with the code's status, and the webhook URL as typed when {@code typedUrl} is not
   * null; unknown or foreign applications get the error page.
   */
  private void failedAction(
      HttpExchange ex, PageSupport.Visitor v, long id, Throwable failure, String typedUrl) {
    ProtocolException pe = PageSupport.expected(failure);
    if (pe == null || pe.code() == ErrorCode.UNKNOWN_APP || pe.code() == ErrorCode.FORBIDDEN) {
      pages.errorPage(ex, v, failure);
      return;
    }
    if (pe instanceof RetryLaterException later) {
      // Too many domain proofs or test calls in a short time: the error page, as other limits.
      pages.retryLaterPage(ex, v, later);
      return;
    }
    apps.get(v.subject(), id)
        .whenComplete(
            (app, again) -> {
              if (again != null) {
                pages.errorPage(ex, v, again);
              } else {
                showApp(
                    ex,
                    v,
                    HttpResponseStatus.valueOf(pe.code().httpStatus()),
                    app,
                    null,
                    null,
                    pe.reason(),
                    typedUrl,
                    null);
              }
            });
  }

  private void showApp(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      Application app,
      String apiKey,
      String notice,
      String error,
      String typedUrl,
      Consumer<HttpHeaders> more) {
    Map<String, Object> m = pages.model(v, app.name());
    Map<String, Object> a = summary(app);
    a.put("description", app.description());
    a.put("verificationKey", app.verificationKey());
    a.put(
        "webhookUrl",
        typedUrl != null ? typedUrl : app.webhookUrl() == null ? "" : app.webhookUrl());
    a.put("webhookSecret", app.webhookSecret() == null ? "" : app.webhookSecret());
    m.put("app", a);
    m.put("apiKey", apiKey);
    m.put("registered", app.state() == AppState.REGISTERED);
    // A suspended application is verified without a key, but its Activate is the operator's.
    m.put("suspended", app.suspended());
    m.put("verified", app.state() == AppState.VERIFIED && !app.suspended());
    m.put("active", app.active());
    m.put("verificationUrl", DomainVerifier.proofUrl(app.domain()));
    m.put("verificationTxt", DomainVerifier.txtName(app.domain()));
    m.put("verifyOverHttp", apps.verifyOverHttp());
    ApiJson.Endpoints e = ApiJson.Endpoints.of(baseUrl.get(), app.id());
    Map<String, Object> ep = new HashMap<>();
    ep.put("grant", e.grant());
    ep.put("updates", e.updates());
    ep.put("stream", e.stream());
    ep.put("notifications", e.notifications());
    m.put("endpoints", ep);
    WebhookDispatcher dispatcher = webhooks;
    List<Map<String, Object>> calls = new ArrayList<>();
    if (dispatcher != null) {
      for (DeliveryLog.Delivery d : dispatcher.recentCalls(app.id())) {
        Map<String, Object> r = new HashMap<>();
        r.put("at", CALL_TIME.format(d.at()));
        r.put("ok", d.ok());
        r.put("outcome", d.status() != 0 ? Integer.toString(d.status()) : d.failure());
        r.put("latency", d.latencyMillis() + " ms");
        r.put("what", d.test() ? "test call" : d.users() + (d.users() == 1 ? " user" : " users"));
        calls.add(r);
      }
    }
    m.put("webhookTest", dispatcher != null && app.webhookUrl() != null);
    m.put("calls", calls);
    m.put("hasCalls", !calls.isEmpty());
    m.put("callsKept", DeliveryLog.PER_APP);
    m.put("notice", notice);
    m.put("error", error);
    pages.renderWithScript(ex, v, status, "app", m, more);
  }

  private static final DateTimeFormatter CALL_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
          .withZone(ZoneOffset.UTC);

  /** Signed in and with a valid form token; otherwise answers with the error page. */
  private static org.presence.gateway.identity.Identity identity(PageSupport.Visitor v) {
    var s = v.session().orElseThrow();
    return new org.presence.gateway.identity.Identity(s.subject(), s.email(), s.expiresAt());
  }

  /** What the visitor typed, kept for the form when it is shown again (bounded). */
  private static String clip(String s) {
    if (s == null) {
      return "";
    }
    return s.length() > 2100 ? s.substring(0, 2100) : s;
  }
}
