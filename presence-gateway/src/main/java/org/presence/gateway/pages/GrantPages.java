package org.presence.gateway.pages;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.permission.RedirectRules;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.SecureRandoms;
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
 *
 * <p>A signed-out visitor's consent request waits in a cookie ({@value #PENDING}, for {@code
 * /<appid>/grant} only, at most {@value #PENDING_SECONDS} s), and sign-in comes back to {@code
 * /<appid>/grant?pending=<id>}: a short address, whatever the redirect's length, which neither the
 * request line limit nor the sign-in's {@code next} limits cut.
 */
public final class GrantPages {
  /** Header carrying the PUID on the redirect back (wiki section 3). */
  public static final String PRESENCE_UID = "Presence-UID";

  /** The cookie holding a signed-out visitor's consent request while they sign in. */
  static final String PENDING = "presence_consent";

  /** How long a consent request waits for its sign-in. */
  static final long PENDING_SECONDS = 1800;

  /**
   * The longest pending cookie value: with its name and attributes it stays within the 4,096 bytes
   * a browser keeps of a cookie. A request longer than that (possible only with a raised request
   * line limit and much non-ASCII text) goes through sign-in in {@code next}, as before.
   */
  static final int MAX_PENDING_VALUE = 3800;

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
    String redirect;
    String userString;
    Optional<String> pendingId = ex.query("pending");
    if (pendingId.isPresent()) {
      Optional<String[]> pending = readPending(ex, pendingId.get());
      if (pending.isEmpty()) {
        pages.errorPage(
            ex,
            v,
            ErrorCode.NOT_FOUND,
            "this consent request is no longer here (it waits "
                + PENDING_SECONDS / 60
                + " minutes for the sign-in, and a newer one for the same application replaces"
                + " it): go back to the application and start again");
        return;
      }
      redirect = pending.get()[0];
      userString = pending.get()[1];
    } else {
      redirect = ex.query("redirect").orElse(null);
      userString = ex.query("id").orElse(null);
    }
    grants
        .prepare(appId, redirect, userString)
        .whenComplete(
            (consent, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else if (v.session().isEmpty()) {
                Pending p = pending(consent);
                pages.redirect(
                    ex,
                    v,
                    "/signin?next=" + URLEncoder.encode(p.next(), StandardCharsets.UTF_8),
                    p.cookie());
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
    if (answer == null || !List.of("allow", "allow-another", "deny", "pause").contains(answer)) {
      pages.errorPage(
          ex, v, ErrorCode.BAD_REQUEST, "answer must be allow, allow-another, deny or pause");
      return;
    }
    String redirect = PageSupport.field(form, "redirect");
    String id = PageSupport.field(form, "id");
    if (v.session().isEmpty() && !v.newNonce()) {
      // The session ended while the page was open: the request waits, and the page's Sign in link
      // comes back to it. Only for a form that came with the site's anti-forgery cookie (from this
      // site): a post from another site comes without cookies (SameSite=Lax) and is refused below
      // without replacing the visitor's pending consent.
      grants
          .prepare(appId, redirect, id)
          .whenComplete(
              (consent, failure) -> {
                if (failure != null) {
                  pages.errorPage(ex, v, failure);
                } else {
                  Pending p = pending(consent);
                  pages.signInFirstPage(ex, v, "Sign in first", p.next(), p.cookie());
                }
              });
      return;
    }
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    String user = v.subject();
    Consumer<HttpHeaders> clear = clearPending(ex, appId);
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
                Consumer<HttpHeaders> headers =
                    outcome.puid() == null
                        ? clear
                        : h -> {
                          h.set(PRESENCE_UID, outcome.puid());
                          if (clear != null) {
                            clear.accept(h);
                          }
                        };
                pages.redirect(ex, v, outcome.location(), headers);
              }
            });
  }

  /**
   * What an answer does: redirect to {@code location} (with {@code puid} when allowed), or show the
   * consent page {@code again}, its choice having changed.
   */
  private record Outcome(String location, String puid, GrantService.Consent again) {}

  /**
   * A consent request waiting for a sign-in: where sign-in comes back to, and the cookie that keeps
   * the request (null where it goes in {@code next} itself).
   */
  private record Pending(String next, Consumer<HttpHeaders> cookie) {}

  private Pending pending(GrantService.Consent consent) {
    long appId = consent.app().id();
    String redirect = consent.redirect().toString();
    String key = key();
    String value = key + "." + b64(redirect) + "." + b64(consent.userString());
    if (value.length() > MAX_PENDING_VALUE) {
      String next =
          "/"
              + appId
              + "/grant?redirect="
              + URLEncoder.encode(redirect, StandardCharsets.UTF_8)
              + "&id="
              + URLEncoder.encode(consent.userString(), StandardCharsets.UTF_8);
      return new Pending(next, null);
    }
    String cookie = pages.laxCookie(PENDING, value, grantPath(appId), PENDING_SECONDS);
    return new Pending(
        grantPath(appId) + "?pending=" + key, h -> h.add(HttpHeaderNames.SET_COOKIE, cookie));
  }

  /**
   * The waiting request's redirect and user string, when the cookie holds the one named {@code
   * key}.
   */
  private Optional<String[]> readPending(HttpExchange ex, String key) {
    Optional<String> cookie = pages.scopedCookie(ex, PENDING);
    if (cookie.isEmpty()) {
      return Optional.empty();
    }
    String[] parts = cookie.get().split("\\.", -1);
    if (parts.length != 3 || !parts[0].equals(key)) {
      return Optional.empty();
    }
    try {
      Base64.Decoder d = Base64.getUrlDecoder();
      return Optional.of(
          new String[] {
            new String(d.decode(parts[1]), StandardCharsets.UTF_8),
            new String(d.decode(parts[2]), StandardCharsets.UTF_8)
          });
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Clears the pending cookie the request carries, once the consent is answered. */
  private Consumer<HttpHeaders> clearPending(HttpExchange ex, long appId) {
    if (pages.scopedCookie(ex, PENDING).isEmpty()) {
      return null;
    }
    String cleared = pages.laxCookie(PENDING, "", grantPath(appId), 0);
    return h -> h.add(HttpHeaderNames.SET_COOKIE, cleared);
  }

  private static String grantPath(long appId) {
    return "/" + appId + "/grant";
  }

  private static String key() {
    byte[] b = new byte[9];
    SecureRandoms.current().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static String b64(String s) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
