package org.presence.gateway.pages;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.CookieHeaderNames;
import io.netty.handler.codec.http.cookie.DefaultCookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import io.netty.handler.codec.http.cookie.ServerCookieEncoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.presence.gateway.auth.WebSessions;
import org.presence.gateway.http.FormDecoder;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpHandler;
import org.presence.gateway.http.RetryLaterException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every page handler shares: who the visitor is (session and anti-forgery cookies), reading
 * forms, rendering a template inside the layout with the security headers, redirects and error
 * pages. Pages work without JavaScript: every action is a plain form POST answered with a page or a
 * 303 redirect.
 *
 * <p>Security headers on every page: a Content-Security-Policy that allows no script at all (but on
 * the demo page and the portal's application page, which run this node's own script and nothing
 * else), only this node's stylesheet, forms posting to this node (and, on the consent page, to the
 * application's redirect origin, since the answer is a redirect there), and no framing ({@code
 * frame-ancestors 'none'} and {@code X-Frame-Options: DENY}); {@code Referrer-Policy: no-referrer}
 * so no page URL leaks to the next site; {@code Cross-Origin-Opener-Policy: same-origin}.
 */
public final class PageSupport {
  private static final Logger LOG = LoggerFactory.getLogger(PageSupport.class);
  private static final String HTML = "text/html; charset=utf-8";

  /**
   * The visitor of one request.
   *
   * @param session the signed-in session, if any
   * @param nonce the anti-forgery nonce (from the cookie, or new)
   * @param newNonce whether the nonce is new and its cookie must be set
   */
  public record Visitor(Optional<WebSessions.Session> session, String nonce, boolean newNonce) {
    /** The signed-in subject, or empty. */
    public String subject() {
      return session.map(WebSessions.Session::subject).orElse("");
    }
  }

  private final Templates templates;
  private final WebSessions sessions;
  private final boolean secureCookies;
  private final boolean devSignIn;
  private volatile boolean hsts;

  /** The session and anti-forgery cookies' names: {@code __Host-} prefixed over TLS. */
  private final String sessionCookie;

  private final String csrfCookie;

  /**
   * The prefix of the path-scoped cookies' names ({@link #redirectWithFlash}, {@link #laxCookie}):
   * {@code __Secure-} over TLS, so that no page served over plain HTTP can set one ({@code __Host-}
   * would also keep sibling subdomains out, but needs {@code Path=/}, which would send these
   * one-time values with every request).
   */
  private final String scopedPrefix;

  public PageSupport(
      Templates templates, WebSessions sessions, boolean secureCookies, boolean devSignIn) {
    this.templates = templates;
    this.sessions = sessions;
    this.secureCookies = secureCookies;
    this.devSignIn = devSignIn;
    // Over TLS only the prefixed names are read: a cookie under the bare name may have been set
    // by a sibling subdomain or over plain HTTP (cookie tossing), which the prefix rules out.
    String prefix = secureCookies ? WebSessions.HOST_PREFIX : "";
    this.sessionCookie = prefix + WebSessions.SESSION_COOKIE;
    this.csrfCookie = prefix + WebSessions.CSRF_COOKIE;
    this.scopedPrefix = secureCookies ? SECURE_PREFIX : "";
  }

  /** The cookie-name prefix a browser accepts only with {@code Secure}, from an HTTPS page. */
  public static final String SECURE_PREFIX = "__Secure-";

  /**
   * The value of the request's path-scoped cookie {@code name} (set by {@link #redirectWithFlash}
   * or {@link #laxCookie}), or empty: over TLS only the {@code __Secure-} name is read.
   */
  public Optional<String> scopedCookie(HttpExchange ex, String name) {
    return cookie(ex, scopedPrefix + name);
  }

  /**
   * Pages and redirects carry {@code Strict-Transport-Security: max-age=31536000} from now on (the
   * node serves TLS itself, {@code tls.hsts}).
   */
  public void sendHsts() {
    this.hsts = true;
  }

  public WebSessions sessions() {
    return sessions;
  }

  /** Whether the development sign-in is offered. */
  public boolean devSignIn() {
    return devSignIn;
  }

  /**
   * Wraps a page handler: first finds the visitor's session (asynchronously, see {@link
   * #withVisitor}), then runs the handler; bad input it throws (a {@link ProtocolException}: an
   * unknown app id, a body that is not a form) is answered with the error page rather than JSON.
   */
  public HttpHandler guard(HttpHandler h) {
    return withVisitor(
        ex -> {
          try {
            h.handle(ex);
          } catch (ProtocolException e) {
            errorPage(ex, visitor(ex), e);
          }
        });
  }

  /**
   * Wraps a handler so that {@link #visitor} works in it: reads the request body while the request
   * still holds it, looks the session cookie up (in memory, or in the database off the event loop),
   * then runs {@code h} on the connection's event loop. A database failure is answered with the
   * error page.
   */
  public HttpHandler withVisitor(HttpHandler h) {
    return ex -> {
      ex.bodyBytes();
      resolve(ex)
          .whenComplete(
              (v, failure) -> {
                if (failure != null) {
                  Visitor anonymous = anonymous();
                  ex.attach(anonymous);
                  errorPage(ex, anonymous, failure);
                  return;
                }
                ex.attach(v);
                Runnable run =
                    () -> {
                      try {
                        h.handle(ex);
                      } catch (Exception e) {
                        ex.error(e);
                      }
                    };
                if (ex.channel().eventLoop().inEventLoop()) {
                  run.run();
                } else {
                  ex.channel().eventLoop().execute(run);
                }
              });
    };
  }

  /**
   * The visitor found by {@link #guard} or {@link #withVisitor}, which every page handler is in.
   * Outside them (the router's own error pages) the visitor has its anti-forgery cookie but no
   * session: nothing is looked up, and nothing is allowed that needs one.
   */
  public Visitor visitor(HttpExchange ex) {
    if (ex.attachment() instanceof Visitor v) {
      return v;
    }
    String header = ex.header(HttpHeaderNames.COOKIE);
    if (header != null && header.length() <= 8192) {
      for (Cookie c : ServerCookieDecoder.STRICT.decode(header)) {
        if (c.name().equals(csrfCookie) && c.value().matches("[A-Za-z0-9_-]{16,64}")) {
          return new Visitor(Optional.empty(), c.value(), false);
        }
      }
    }
    return anonymous();
  }

  private CompletionStage<Visitor> resolve(HttpExchange ex) {
    String header = ex.header(HttpHeaderNames.COOKIE);
    String session = null;
    String nonce = null;
    if (header != null && header.length() <= 8192) {
      for (Cookie c : ServerCookieDecoder.STRICT.decode(header)) {
        if (c.name().equals(sessionCookie) && session == null) {
          session = c.value();
        } else if (c.name().equals(csrfCookie) && c.value().matches("[A-Za-z0-9_-]{16,64}")) {
          nonce = c.value();
        }
      }
    }
    String n = nonce;
    CompletionStage<Optional<WebSessions.Session>> found =
        session == null
            ? CompletableFuture.completedFuture(Optional.empty())
            : sessions.read(session);
    return found.thenApply(
        s -> n == null ? new Visitor(s, WebSessions.newNonce(), true) : new Visitor(s, n, false));
  }

  private static Visitor anonymous() {
    return new Visitor(Optional.empty(), WebSessions.newNonce(), true);
  }

  /** The form token for this visitor. */
  public String csrfToken(Visitor v) {
    return sessions.csrfToken(v.nonce(), v.subject());
  }

  /** Whether the posted form carries this visitor's token (a new nonce never does). */
  public boolean csrfValid(Visitor v, Map<String, List<String>> form) {
    return !v.newNonce() && sessions.csrfValid(v.nonce(), v.subject(), field(form, "csrf"));
  }

  /**
   * Whether a page's posted {@code form} may be acted on: the visitor is signed in and the form
   * carries their token. Otherwise answers with the error page ({@code UNAUTHORIZED}, "Sign in
   * first", or {@code CSRF_REJECTED}) and returns {@code false}.
   */
  public boolean formAllowed(HttpExchange ex, Visitor v, Map<String, List<String>> form) {
    if (v.session().isEmpty()) {
      errorPage(ex, v, ErrorCode.UNAUTHORIZED, "Sign in first");
      return false;
    }
    if (!csrfValid(v, form)) {
      errorPage(ex, v, ErrorCode.CSRF_REJECTED, ErrorCode.CSRF_REJECTED.reason());
      return false;
    }
    return true;
  }

  /**
   * The posted form ({@code application/x-www-form-urlencoded}), read strictly by {@link
   * FormDecoder}: fails with {@code UNSUPPORTED_MEDIA_TYPE} for any other body type, {@code
   * BAD_REQUEST} for a broken percent-escape, invalid UTF-8 or too many fields, {@code
   * DUPLICATE_FIELD} for a name given twice.
   */
  public static Map<String, List<String>> form(HttpExchange ex) {
    String type = ex.header(HttpHeaderNames.CONTENT_TYPE);
    byte[] body = ex.bodyBytes();
    if (body.length > 0 && !HttpExchange.isForm(type)) {
      throw new ProtocolException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send a form");
    }
    return FormDecoder.decode(body);
  }

  /** The first value of a form field, or {@code null}. */
  public static String field(Map<String, List<String>> form, String name) {
    List<String> v = form.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /**
   * The layout model: title, visitor, token; handlers add their own entries. The document title is
   * "{@code title} · Presence", or just "Presence" for the page titled so (the home page).
   */
  public Map<String, Object> model(Visitor v, String title) {
    Map<String, Object> m = new HashMap<>();
    m.put("title", title);
    m.put("pageTitle", "Presence".equals(title) ? null : title);
    m.put("signedIn", v.session().isPresent());
    m.put("email", v.session().map(WebSessions.Session::email).orElse(""));
    m.put("who", v.session().map(PageSupport::who).orElse(""));
    m.put("csrf", csrfToken(v));
    m.put("error", null);
    m.put("notice", null);
    return m;
  }

  /**
   * How the header names a signed-in person: their email; without one (a provider that sends none,
   * or does not vouch for it with {@code email_verified}) their user id, the name the admin API and
   * the logs know them by, so that two accounts stay apart and a person can quote theirs.
   */
  static String who(WebSessions.Session s) {
    return s.email() == null || s.email().isEmpty() ? s.subject() : s.email();
  }

  /** Renders {@code template} with {@code model} as the answer. */
  public void render(
      HttpExchange ex,
      Visitor v,
      HttpResponseStatus status,
      String template,
      Map<String, Object> model) {
    render(ex, v, status, template, model, null);
  }

  /**
   * Renders {@code template}; {@code formOrigin}, when not null, is one more origin the page's
   * forms may end up at (the consent page's redirect).
   */
  public void render(
      HttpExchange ex,
      Visitor v,
      HttpResponseStatus status,
      String template,
      Map<String, Object> model,
      String formOrigin) {
    render(ex, v, status, template, model, formOrigin, false, null);
  }

  /**
   * {@link #render}, with {@code more}, when not null, adding headers (a flash cookie to clear).
   */
  public void renderWithHeaders(
      HttpExchange ex,
      Visitor v,
      HttpResponseStatus status,
      String template,
      Map<String, Object> model,
      Consumer<HttpHeaders> more) {
    render(ex, v, status, template, model, null, false, more);
  }

  /**
   * Renders {@code template} for a page that runs this node's own scripts (the demo page): the
   * policy adds {@code script-src 'self'} and {@code connect-src 'self'}, nothing from elsewhere
   * and no inline script.
   */
  public void renderWithScript(
      HttpExchange ex,
      Visitor v,
      HttpResponseStatus status,
      String template,
      Map<String, Object> model) {
    render(ex, v, status, template, model, null, true, null);
  }

  /** {@link #renderWithScript}, with {@code more} adding headers (a cookie to clear). */
  public void renderWithScript(
      HttpExchange ex,
      Visitor v,
      HttpResponseStatus status,
      String template,
      Map<String, Object> model,
      Consumer<HttpHeaders> more) {
    render(ex, v, status, template, model, null, true, more);
  }

  private void render(
      HttpExchange ex,
      Visitor v,
      HttpResponseStatus status,
      String template,
      Map<String, Object> model,
      String formOrigin,
      boolean scripts,
      Consumer<HttpHeaders> more) {
    String html;
    try {
      html = templates.render(template, model);
    } catch (RuntimeException e) {
      LOG.error("template {} failed", template, e);
      ex.error(ErrorCode.INTERNAL_ERROR, null);
      return;
    }
    ex.respond(
        status,
        HTML,
        Unpooled.copiedBuffer(html, StandardCharsets.UTF_8),
        h -> {
          securityHeaders(h, formOrigin, scripts);
          cookies(h, ex, v, null);
          if (more != null) {
            more.accept(h);
          }
        });
  }

  /** Answers 303 See Other to {@code location}; {@code more} may add headers. */
  public void redirect(HttpExchange ex, Visitor v, String location, Consumer<HttpHeaders> more) {
    ex.respond(
        HttpResponseStatus.SEE_OTHER,
        null,
        Unpooled.EMPTY_BUFFER,
        h -> {
          h.set(HttpHeaderNames.LOCATION, location);
          h.set("Referrer-Policy", "no-referrer");
          cookies(h, ex, v, null);
          if (more != null) {
            more.accept(h);
          }
        });
  }

  /**
   * Answers 303 See Other to {@code location}, setting a short-lived cookie {@code name} for {@code
   * path} only: HttpOnly, SameSite=Strict, Secure when the node is served over TLS, kept {@code
   * maxAgeSeconds} at most. For a one-time value the next page shows (and clears).
   */
  public void redirectWithFlash(
      HttpExchange ex,
      Visitor v,
      String location,
      String name,
      String value,
      String path,
      long maxAgeSeconds) {
    redirect(
        ex,
        v,
        location,
        h ->
            h.add(
                HttpHeaderNames.SET_COOKIE,
                ServerCookieEncoder.STRICT.encode(flash(name, value, path, maxAgeSeconds))));
  }

  /** The {@code Set-Cookie} value that clears the cookie {@link #redirectWithFlash} set. */
  public String clearFlash(String name, String path) {
    return ServerCookieEncoder.STRICT.encode(flash(name, "", path, 0));
  }

  /**
   * The {@code Set-Cookie} value of a short-lived cookie {@code name} for {@code path} only, which
   * a sign-in brings back: HttpOnly, SameSite=Lax (a provider's sign-in ends in a redirect chain
   * that started on its site, on which Strict cookies are not sent), Secure when the node is served
   * over TLS, kept {@code maxAgeSeconds} at most (0 clears it).
   */
  public String laxCookie(String name, String value, String path, long maxAgeSeconds) {
    DefaultCookie c = new DefaultCookie(scopedPrefix + name, value);
    c.setPath(path);
    c.setHttpOnly(true);
    c.setSecure(secureCookies);
    c.setSameSite(CookieHeaderNames.SameSite.Lax);
    c.setMaxAge(maxAgeSeconds);
    return ServerCookieEncoder.STRICT.encode(c);
  }

  private Cookie flash(String name, String value, String path, long maxAgeSeconds) {
    DefaultCookie c = new DefaultCookie(scopedPrefix + name, value);
    c.setPath(path);
    c.setHttpOnly(true);
    c.setSecure(secureCookies);
    c.setSameSite(CookieHeaderNames.SameSite.Strict);
    c.setMaxAge(maxAgeSeconds);
    return c;
  }

  /** The value of the request's cookie {@code name}, or empty (a header over 8 KiB is ignored). */
  public static Optional<String> cookie(HttpExchange ex, String name) {
    String header = ex.header(HttpHeaderNames.COOKIE);
    if (header != null && header.length() <= 8192) {
      for (Cookie c : ServerCookieDecoder.STRICT.decode(header)) {
        if (c.name().equals(name)) {
          return Optional.of(c.value());
        }
      }
    }
    return Optional.empty();
  }

  /** Sends a visitor who must sign in first to the sign-in page, to come back to {@code next}. */
  public void toSignIn(HttpExchange ex, Visitor v, String next) {
    redirect(ex, v, "/signin?next=" + URLEncoder.encode(next, StandardCharsets.UTF_8), null);
  }

  /** Sets a new session cookie (or clears it when {@code value} is null) and redirects. */
  public void redirectWithSession(HttpExchange ex, Visitor v, String location, String value) {
    ex.respond(
        HttpResponseStatus.SEE_OTHER,
        null,
        Unpooled.EMPTY_BUFFER,
        h -> {
          h.set(HttpHeaderNames.LOCATION, location);
          cookies(h, ex, v, value == null ? "" : value);
        });
  }

  /**
   * An error page for {@code failure}: its code's status and reason; 500 for the unexpected. A rate
   * limit's refusal carries {@code Retry-After}, the same seconds the JSON API sends.
   */
  public void errorPage(HttpExchange ex, Visitor v, Throwable failure) {
    Throwable t =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    if (t instanceof RetryLaterException later) {
      retryLaterPage(ex, v, later);
      return;
    }
    ErrorCode code;
    String reason;
    if (t instanceof ProtocolException pe) {
      code = pe.code();
      reason = pe.reason();
    } else {
      LOG.error("{} {} failed", ex.method(), ex.path(), t);
      code = ErrorCode.INTERNAL_ERROR;
      reason = code.reason();
    }
    errorPage(ex, v, code, reason);
  }

  /**
   * The error page of a rate limit (429, "Too many tries in a short time"), with {@code
   * Retry-After}.
   */
  public void retryLaterPage(HttpExchange ex, Visitor v, RetryLaterException later) {
    errorPage(
        ex,
        v,
        later.code(),
        later.reason(),
        h -> h.set(HttpHeaderNames.RETRY_AFTER, Long.toString(later.seconds())));
  }

  /** An error page for {@code code} with {@code reason}. */
  public void errorPage(HttpExchange ex, Visitor v, ErrorCode code, String reason) {
    errorPage(ex, v, code, reason, null);
  }

  /**
   * An error page for {@code code}: what happened in words a person understands, and the technical
   * detail ({@code reason} and the HTTP status, no errno) behind a disclosure; {@code more}, when
   * not null, adds headers.
   */
  public void errorPage(
      HttpExchange ex, Visitor v, ErrorCode code, String reason, Consumer<HttpHeaders> more) {
    // Pages asked for with GET send a signed-out visitor to sign in rather than here; the one GET
    // that is refused 401 is the provider's callback, whose address must not be visited again.
    errorPage(ex, v, code, inWords(code), reason, null, more);
  }

  /**
   * The error page "You need to sign in" ({@code UNAUTHORIZED}, 401) whose Sign in link comes back
   * to {@code next} (a path on this node; a longer one than sign-in keeps is left out) once signed
   * in; {@code more}, when not null, adds headers.
   */
  public void signInFirstPage(
      HttpExchange ex, Visitor v, String reason, String next, Consumer<HttpHeaders> more) {
    errorPage(ex, v, ErrorCode.UNAUTHORIZED, inWords(ErrorCode.UNAUTHORIZED), reason, next, more);
  }

  /**
   * An error page for {@code code} that says {@code headline} (in place of the code's usual words)
   * above the technical {@code reason}; with {@code UNAUTHORIZED}, its Sign in link comes back to
   * {@code next} when that is not null.
   */
  public void errorPage(
      HttpExchange ex,
      Visitor v,
      ErrorCode code,
      String headline,
      String reason,
      String next,
      Consumer<HttpHeaders> more) {
    // The title names the kind of error (a tab or a history entry says "Not Found (404)"), its
    // words are the headline's.
    HttpResponseStatus status = HttpResponseStatus.valueOf(code.httpStatus());
    Map<String, Object> m = model(v, status.reasonPhrase() + " (" + status.code() + ")");
    m.put("status", code.httpStatus());
    m.put("headline", headline);
    m.put("reason", reason);
    boolean signIn = code == ErrorCode.UNAUTHORIZED && v.session().isEmpty();
    m.put("signInNeeded", signIn);
    String back = next == null ? "/" : SignInPages.safeNext(next);
    m.put(
        "signInHref",
        back.equals("/")
            ? "/signin"
            : "/signin?next=" + URLEncoder.encode(back, StandardCharsets.UTF_8));
    // A conflict's reason is what the person needs to read (a limit reached, what to do first).
    m.put("detailsOpen", code.httpStatus() == 409);
    render(ex, v, HttpResponseStatus.valueOf(code.httpStatus()), "error", m, null, false, more);
  }

  /** What an error means for the person who met it, without its internal names. */
  static String inWords(ErrorCode code) {
    if (code == ErrorCode.CSRF_REJECTED) {
      return "This form has expired. Go back, reload the page and try again.";
    }
    return switch (code.httpStatus()) {
      case 401 -> "You need to sign in to see this page.";
      case 403 -> "You are not allowed to do that.";
      case 404 -> "There is no page at this address.";
      case 405 -> "This page cannot be used that way.";
      case 409 -> "That cannot be done now; the details below say why.";
      case 413 -> "What you sent is too large.";
      case 431 ->
          "Your browser sent more than this site accepts, most often too many or too large"
              + " cookies. Clear this site's cookies in your browser, then try again.";
      case 429 -> "Too many tries in a short time. Wait a moment and try again.";
      case 502, 503, 504 -> "A service Presence relies on did not answer. Try again in a moment.";
      default ->
          code.httpStatus() >= 500
              ? "Something went wrong on our side. Try again in a moment."
              : "That request could not be understood. Check the address or what you typed.";
    };
  }

  /** The text of a failure, for showing on the page it came from; null when unexpected. */
  public static ProtocolException expected(Throwable failure) {
    Throwable t =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    return t instanceof ProtocolException pe ? pe : null;
  }

  private static void securityHeaders(HttpHeaders h, String formOrigin, boolean scripts) {
    String formAction = formOrigin == null ? "'self'" : "'self' " + formOrigin;
    h.set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; "
            + (scripts ? "script-src 'self'; connect-src 'self'; " : "")
            + "form-action "
            + formAction
            + "; frame-ancestors 'none'; base-uri 'none'");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set(HttpHeaderNames.VARY, HttpHeaderNames.COOKIE);
  }

  /**
   * Sets the anti-forgery cookie when the nonce is new, and the session cookie when {@code session}
   * is not null (empty clears it). A POST never sets a new nonce: one that came without the cookie
   * is refused anyway, and a cross-site POST comes without it (SameSite=Lax), so setting one would
   * replace the visitor's cookie and expire the forms open in their other tabs. Both are HttpOnly
   * and SameSite=Lax (the consent page is reached by a top-level navigation from the application's
   * site, which Lax allows), and Secure when the node is served over TLS.
   */
  private void cookies(HttpHeaders h, HttpExchange ex, Visitor v, String session) {
    if (hsts) {
      h.set("Strict-Transport-Security", "max-age=31536000");
    }
    List<Cookie> out = new ArrayList<>();
    if (v.newNonce() && !HttpMethod.POST.equals(ex.method())) {
      out.add(cookie(csrfCookie, v.nonce(), -1));
    }
    if (session != null) {
      long maxAge = session.isEmpty() ? 0 : sessions.lifetime().toSeconds();
      out.add(cookie(sessionCookie, session, maxAge));
    }
    for (Cookie c : out) {
      h.add(HttpHeaderNames.SET_COOKIE, ServerCookieEncoder.STRICT.encode(c));
    }
  }

  private Cookie cookie(String name, String value, long maxAge) {
    DefaultCookie c = new DefaultCookie(name, value);
    c.setPath("/");
    c.setHttpOnly(true);
    c.setSecure(secureCookies);
    c.setSameSite(CookieHeaderNames.SameSite.Lax);
    if (maxAge >= 0) {
      c.setMaxAge(maxAge);
    }
    return c;
  }
}
