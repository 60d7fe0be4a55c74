package org.presence.gateway.pages;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.permission.RedirectRules;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.permission.Grant;

/**
 * The consent page of wiki section 3 (the seeds' doorhanger): {@code GET
 * /<appid>/grant?redirect=<url>&id=<userstring>} shows a signed-in user which application asks, its
 * verified domain and how they will appear to it; the form POSTs the answer back (to {@code
 * /<appid>/grant}, or the wiki's {@code /<appid>}) with an anti-forgery token. Allow answers 303 to
 * the redirect URL with the PUID as {@code puid} query parameter and in the {@code Presence-UID}
 * header; Deny ("Not now" where a grant exists) with {@code error=access_denied}. The redirect is
 * checked on both requests, before anything else, so neither ever redirects off the application's
 * domain.
 *
 * <p>What the page offers follows what the user already shares with the application
 * (docs/apps-api.md, The grant flow): for the same user string, Allow resumes a paused grant and an
 * enabled one can be paused from the page; the user's grants under other user strings are listed,
 * and where one of them is paused a new user string is allowed only by the explicit "Allow another
 * id" button, so that an application cannot route around a pause with a click on a page that said
 * nothing of it.
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
              } else if (v.session().isEmpty()) {
                pages.toSignIn(ex, v, here);
              } else {
                show(ex, v, consent, HttpResponseStatus.OK, false);
              }
            });
  }

  /** Renders the consent page for {@code consent}, after reading the user's grants. */
  private void show(
      HttpExchange ex,
      PageSupport.Visitor v,
      GrantService.Consent consent,
      HttpResponseStatus status,
      boolean changed) {
    grants
        .list(v.subject())
        .whenComplete(
            (views, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              Existing e = existing(views, consent);
              Map<String, Object> m = pages.model(v, "Share your presence?");
              m.put("appId", consent.app().id());
              m.put("appName", consent.app().name());
              m.put("appDomain", consent.app().domain());
              m.put("userString", consent.userString());
              m.put("redirect", consent.redirect().toString());
              m.put("samePaused", e.same() != null && !e.same().enabled());
              m.put("sameActive", e.same() != null && e.same().enabled());
              m.put("newGrant", e.same() == null);
              List<Map<String, Object>> others = new ArrayList<>();
              for (Grant g : e.others()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("name", g.userString());
                o.put("enabled", g.enabled());
                others.add(o);
              }
              m.put("others", others);
              m.put("hasOthers", !others.isEmpty());
              m.put("needsChoice", e.needsChoice());
              m.put("plain", e.same() == null && !e.needsChoice());
              m.put("changed", changed);
              pages.render(ex, v, status, "grant", m, RedirectRules.origin(consent.redirect()));
            });
  }

  /**
   * What the user already shares with the consent's application.
   *
   * @param same the grant under the consent's user string, or null
   * @param others their grants under other user strings
   */
  private record Existing(Grant same, List<Grant> others) {
    /** A new user string while another grant of the application is paused. */
    boolean needsChoice() {
      return same == null && others.stream().anyMatch(g -> !g.enabled());
    }
  }

  private static Existing existing(
      List<GrantService.GrantView> views, GrantService.Consent consent) {
    Grant same = null;
    List<Grant> others = new ArrayList<>();
    for (GrantService.GrantView view : views) {
      Grant g = view.grant();
      if (g.appId() != consent.app().id()) {
        continue;
      }
      if (g.userString().equals(consent.userString())) {
        same = g;
      } else {
        others.add(g);
      }
    }
    return new Existing(same, others);
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
    String answer = PageSupport.field(form, "answer");
    if (!List.of("allow", "allow-another", "deny", "pause").contains(answer)) {
      pages.errorPage(
          ex, v, ErrorCode.BAD_REQUEST, "answer must be allow, allow-another, deny or pause");
      return;
    }
    String redirect = PageSupport.field(form, "redirect");
    String id = PageSupport.field(form, "id");
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    String user = v.subject();
    grants
        .prepare(appId, redirect, id)
        .thenCompose(
            consent -> {
              String denied = RedirectRules.withParam(consent.redirect(), "error", "access_denied");
              if (answer.equals("deny")) {
                return CompletableFuture.completedFuture(new Outcome(denied, null, null));
              }
              return grants
                  .list(user)
                  .thenCompose(
                      views -> {
                        Existing e = existing(views, consent);
                        if (answer.equals("pause")) {
                          if (e.same() == null || !e.same().enabled()) {
                            return CompletableFuture.completedFuture(
                                new Outcome(denied, null, null));
                          }
                          return grants
                              .setEnabled(user, e.same().puid(), false)
                              .thenApply(g -> new Outcome(denied, null, null));
                        }
                        if (answer.equals("allow") && e.needsChoice()) {
                          // The page offered only "Allow another id" here, or did not know of the
                          // pause (it was made since): shown again, as it is now.
                          return CompletableFuture.completedFuture(
                              new Outcome(null, null, consent));
                        }
                        return grants
                            .allow(user, appId, consent.userString())
                            .thenApply(
                                g ->
                                    new Outcome(
                                        RedirectRules.withParam(
                                            consent.redirect(), "puid", g.puid()),
                                        g.puid(),
                                        null));
                      });
            })
        .whenComplete(
            (outcome, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else if (outcome.again() != null) {
                show(ex, v, outcome.again(), HttpResponseStatus.CONFLICT, true);
              } else {
                pages.redirect(
                    ex,
                    v,
                    outcome.location(),
                    outcome.puid() == null ? null : h -> h.set(PRESENCE_UID, outcome.puid()));
              }
            });
  }

  /**
   * What an answer does: redirect to {@code location} (with {@code puid} when allowed), or show the
   * consent page {@code again}, its choice having changed.
   */
  private record Outcome(String location, String puid, GrantService.Consent again) {}

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
