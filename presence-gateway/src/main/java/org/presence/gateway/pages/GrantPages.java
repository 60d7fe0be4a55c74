package org.presence.gateway.pages;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.List;
import java.util.Map;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.permission.RedirectRules;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The consent page of wiki section 3 (the seeds' doorhanger): {@code GET
 * /<appid>/grant?redirect=<url>&id=<userstring>} shows a signed-in user which application asks, its
 * verified domain and how they will appear to it; the Allow or Deny form POSTs back (to {@code
 * /<appid>/grant}, or the wiki's {@code /<appid>}) with an anti-forgery token. Allow answers 303 to
 * the redirect URL with the PUID as {@code puid} query parameter and in the {@code Presence-UID}
 * header; Deny with {@code error=access_denied}. The redirect is checked on both requests, before
 * anything else, so neither ever redirects off the application's domain.
 */
public final class GrantPages {
  /** Header carrying the PUID on the redirect back (wiki section 3). */
  public static final String PRESENCE_UID = "Presence-UID";

  private final PageSupport pages;
  private final GrantService grants;

  public GrantPages(PageSupport pages, GrantService grants) {
    this.pages = pages;
    this.grants = grants;
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/{appid:[0-9]+}/grant", pages.guard(this::consent))
        .post("/{appid:[0-9]+}/grant", pages.guard(this::answer))
        .post("/{appid:[0-9]+}", pages.guard(this::answer));
  }

  private void consent(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    long appId;
    try {
      appId = AppsApi.parseAppId(ex.param("appid"));
    } catch (ProtocolException e) {
      pages.errorPage(ex, v, e);
      return;
    }
    String redirect = ex.query("redirect").orElse(null);
    String userString = ex.query("id").orElse(null);
    String here = ex.path() + rawQuery(ex);
    grants
        .prepare(appId, redirect, userString)
        .whenComplete(
            (consent, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              if (v.session().isEmpty()) {
                pages.toSignIn(ex, v, here);
                return;
              }
              Map<String, Object> m = pages.model(v, "Share your presence?");
              m.put("appId", consent.app().id());
              m.put("appName", consent.app().name());
              m.put("appDomain", consent.app().domain());
              m.put("userString", consent.userString());
              m.put("redirect", consent.redirect().toString());
              // A user who already shares with the application is told so, and as whom.
              grants
                  .list(v.subject())
                  .whenComplete(
                      (views, listFailure) -> {
                        if (listFailure != null) {
                          pages.errorPage(ex, v, listFailure);
                          return;
                        }
                        m.put(
                            "existing",
                            views.stream()
                                .map(GrantService.GrantView::grant)
                                .filter(g -> g.appId() == consent.app().id())
                                .findFirst()
                                .orElse(null));
                        pages.render(
                            ex,
                            v,
                            HttpResponseStatus.OK,
                            "grant",
                            m,
                            RedirectRules.origin(consent.redirect()));
                      });
            });
  }

  private void answer(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form;
    long appId;
    try {
      form = PageSupport.form(ex);
      appId = AppsApi.parseAppId(ex.param("appid"));
    } catch (ProtocolException e) {
      pages.errorPage(ex, v, e);
      return;
    }
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    String answer = PageSupport.field(form, "answer");
    if (!"allow".equals(answer) && !"deny".equals(answer)) {
      pages.errorPage(ex, v, ErrorCode.BAD_REQUEST, "answer must be allow or deny");
      return;
    }
    String user = v.subject();
    grants
        .prepare(appId, PageSupport.field(form, "redirect"), PageSupport.field(form, "id"))
        .thenCompose(
            consent -> {
              if (answer.equals("deny")) {
                return java.util.concurrent.CompletableFuture.completedFuture(
                    new Outcome(
                        RedirectRules.withParam(consent.redirect(), "error", "access_denied"),
                        null));
              }
              return grants
                  .grant(user, appId, consent.userString())
                  .thenApply(
                      g ->
                          new Outcome(
                              RedirectRules.withParam(consent.redirect(), "puid", g.puid()),
                              g.puid()));
            })
        .whenComplete(
            (outcome, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              pages.redirect(
                  ex,
                  v,
                  outcome.location(),
                  outcome.puid() == null ? null : h -> h.set(PRESENCE_UID, outcome.puid()));
            });
  }

  /** Where the answer sends the user, and the PUID when they allowed. */
  private record Outcome(String location, String puid) {}

  private static String rawQuery(HttpExchange ex) {
    // Rebuild from the decoded parameters, so the sign-in page's "next" stays a plain local path.
    StringBuilder q = new StringBuilder();
    for (var e : ex.queryParameters().entrySet()) {
      for (String value : e.getValue()) {
        q.append(q.length() == 0 ? '?' : '&')
            .append(java.net.URLEncoder.encode(e.getKey(), java.nio.charset.StandardCharsets.UTF_8))
            .append('=')
            .append(java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return q.toString();
  }
}
