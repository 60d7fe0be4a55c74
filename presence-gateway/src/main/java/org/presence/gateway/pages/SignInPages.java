package org.presence.gateway.pages;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.auth.OidcSignIn;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.gateway.net.ClientAddress;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ShownText;

/**
 * The home page, the stylesheet, sign-in and sign-out.
 *
 * <p>Where an OpenID Connect provider is configured ({@code identity.oidc.issuer}), people sign in
 * through it ({@link OidcSignIn}) and nothing else: the form starts the flow ({@code POST
 * /signin/oidc}), the provider sends the browser back to {@code GET /signin/callback}. Without a
 * provider, a valid identity token pasted into the form opens a session (the same identity as
 * devices); where development signing is on, a clearly labelled development sign-in takes just an
 * email (the session's user is then {@code dev:<email>}, the same user as a development token for
 * that email). Sessions live in the database ({@link org.presence.gateway.auth.WebSessions}):
 * signing out deletes this browser's session everywhere.
 */
public final class SignInPages {
  private static final int MAX_EMAIL = 254;
  private static final int MAX_TOKEN = 8192;

  /** What a refused provider callback says to a browser that is signed in already. */
  static final String ALREADY_SIGNED_IN =
      "This sign-in link was already used or has expired, so it did not sign you in again."
          + " You are still signed in.";

  private final PageSupport pages;
  private final IdentityVerifier verifier;
  private final Clock clock;
  private final OidcSignIn oidc;
  private final StaticAsset stylesheet;
  private final byte[] favicon;
  private final boolean demo;

  /**
   * {@code oidc} is null where no provider is configured; {@code demo}: whether the node serves the
   * demo page, which the home page then links to.
   */
  public SignInPages(
      PageSupport pages, IdentityVerifier verifier, OidcSignIn oidc, Clock clock, boolean demo) {
    this.pages = pages;
    this.demo = demo;
    this.verifier = verifier;
    this.oidc = oidc;
    this.clock = clock;
    this.stylesheet = StaticAsset.load("text/css; charset=utf-8", "static/presence.css");
    this.favicon = load("static/favicon.svg");
  }

  static byte[] load(String resource) {
    try (InputStream in = SignInPages.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource, e);
    }
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/", pages.guard(this::home))
        .get("/static/presence.css", stylesheet::serve)
        .get("/favicon.ico", this::favicon)
        .get("/signin", pages.guard(this::signInPage))
        .post("/signin", pages.guard(this::signIn))
        .post("/signin/oidc", pages.guard(this::startOidc))
        .get(OidcSignIn.CALLBACK, pages.guard(this::oidcCallback))
        .post("/signout", pages.guard(this::signOut));
  }

  private void home(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, Object> m = pages.model(v, "Presence");
    m.put("demo", demo);
    pages.render(ex, v, HttpResponseStatus.OK, "home", m);
  }

  /** The icon every page names (an SVG, at the address browsers ask for by default). */
  private void favicon(HttpExchange ex) {
    ex.respond(
        HttpResponseStatus.OK,
        "image/svg+xml",
        Unpooled.wrappedBuffer(favicon),
        h -> h.set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=86400"));
  }

  private void signInPage(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    String next = safeNext(ex.query("next").orElse("/"));
    boolean noCookie = ex.query("cookies").filter("needed"::equals).isPresent();
    showSignIn(ex, v, HttpResponseStatus.OK, next, noCookie ? COOKIES_NEEDED : null, null);
  }

  /** What the sign-in page says after a sign-in form came without this site's cookie. */
  static final String COOKIES_NEEDED =
      "Signing in needs cookies, and your browser did not send this site's cookie with the form."
          + " Allow cookies for this site, then sign in again.";

  /**
   * Whether a sign-in form came without the anti-forgery cookie (cookies off, or cleared): then it
   * is sent back to the sign-in page (a GET, which sets the cookie) with words saying cookies are
   * needed, rather than to "This form has expired" again and again.
   */
  private boolean withoutCookie(HttpExchange ex, PageSupport.Visitor v, String next) {
    if (!v.newNonce()) {
      return false;
    }
    pages.redirect(
        ex,
        v,
        "/signin?cookies=needed&next=" + URLEncoder.encode(next, StandardCharsets.UTF_8),
        null);
    return true;
  }

  /** Why a sign-in failed, in words; the technical reason goes behind a disclosure. */
  static String signInFailure(ErrorCode code) {
    if (code == ErrorCode.UNAUTHORIZED) {
      return "We could not sign you in: the identity token was not accepted. It may have expired,"
          + " be incomplete, or come from a provider this site does not use. Get a new one and"
          + " try again.";
    }
    if (code == ErrorCode.IDENTITY_UNAVAILABLE) {
      return "Your identity provider did not answer. Try again in a moment.";
    }
    if (code.httpStatus() == 429) {
      return "Too many sign-in attempts. Wait a moment and try again.";
    }
    if (code.httpStatus() == 400) {
      return "We could not sign you in with what you typed. Check it and try again.";
    }
    return "We could not sign you in. Try again in a moment.";
  }

  private void showSignIn(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String next,
      String error,
      String errorDetail) {
    Map<String, Object> m = pages.model(v, "Sign in");
    m.put("next", next);
    m.put("devSignIn", pages.devSignIn() && oidc == null);
    m.put("oidc", oidc != null);
    m.put("tokenSignIn", oidc == null);
    m.put("error", error);
    m.put("errorDetail", errorDetail);
    // The provider sign-in form is answered with a redirect to the provider, which the policy's
    // form-action must allow.
    pages.render(ex, v, status, "signin", m, oidc == null ? null : oidc.providerOrigin());
  }

  private void signIn(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    String next = safeNext(PageSupport.field(form, "next"));
    if (withoutCookie(ex, v, next)) {
      return;
    }
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, ErrorCode.CSRF_REJECTED.reason());
      return;
    }
    String email = PageSupport.field(form, "email");
    String token = PageSupport.field(form, "token");
    CompletionStage<Identity> identity;
    if (oidc != null) {
      identity =
          CompletableFuture.failedFuture(
              new ProtocolException(
                  ErrorCode.UNAUTHORIZED, "sign in with the provider (the button below)"));
    } else if (email != null && pages.devSignIn()) {
      identity = devIdentity(email);
    } else if (token != null && !token.isBlank() && token.length() <= MAX_TOKEN) {
      try {
        identity = verifier.verifyAccount(token.strip());
      } catch (RuntimeException e) {
        identity = CompletableFuture.failedFuture(e);
      }
    } else {
      identity =
          CompletableFuture.failedFuture(
              new ProtocolException(ErrorCode.UNAUTHORIZED, "give an identity token"));
    }
    identity.whenComplete(
        (id, failure) -> {
          if (failure != null) {
            ProtocolException pe = PageSupport.expected(failure);
            if (pe == null) {
              pages.errorPage(ex, v, failure);
              return;
            }
            showSignIn(
                ex,
                v,
                HttpResponseStatus.valueOf(pe.code().httpStatus()),
                next,
                signInFailure(pe.code()),
                pe.reason());
            return;
          }
          openSession(ex, v, id, next);
        });
  }

  /**
   * Opens a session for {@code id} (ending the browser's previous one) and goes to {@code next}.
   */
  private void openSession(HttpExchange ex, PageSupport.Visitor v, Identity id, String next) {
    CompletionStage<?> previous =
        v.session().isPresent()
            ? pages.sessions().end(v.subject(), v.session().get().idHash())
            : CompletableFuture.completedFuture(null);
    previous
        .thenCompose(x -> pages.sessions().issue(id, ex.header(HttpHeaderNames.USER_AGENT)))
        .whenComplete(
            (cookie, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else {
                pages.redirectWithSession(ex, v, next, cookie);
              }
            });
  }

  private void startOidc(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (oidc == null) {
      pages.errorPage(ex, v, ErrorCode.NOT_FOUND, "no sign-in provider is configured");
      return;
    }
    if (withoutCookie(ex, v, safeNext(PageSupport.field(form, "next")))) {
      return;
    }
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, ErrorCode.CSRF_REJECTED.reason());
      return;
    }
    // Each start stores a row until it is used or expires: a per-address limit keeps a flood of
    // starts from filling the database (identity.oidc.start-rate, start-burst).
    long wait = oidc.startWait(ClientAddress.of(ex.channel()));
    if (wait > 0) {
      pages.errorPage(
          ex,
          v,
          ErrorCode.SLOW_DOWN,
          "too many sign-ins started from this address; try again in " + wait + " s",
          h -> h.set(HttpHeaderNames.RETRY_AFTER, Long.toString(wait)));
      return;
    }
    String next = safeNext(PageSupport.field(form, "next"));
    oidc.start(v.nonce(), next)
        .whenComplete(
            (uri, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else {
                // To the provider: a navigation away, not an open redirect (the URL is ours).
                pages.redirect(ex, v, uri.toString(), null);
              }
            });
  }

  private void oidcCallback(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    if (oidc == null) {
      pages.errorPage(ex, v, ErrorCode.NOT_FOUND, "no sign-in provider is configured");
      return;
    }
    oidc.finish(v.newNonce() ? null : v.nonce(), ex.queryParameters())
        .whenComplete(
            (result, failure) -> {
              ProtocolException refused = failure == null ? null : PageSupport.expected(failure);
              if (refused != null
                  && refused.code() == ErrorCode.UNAUTHORIZED
                  && v.session().isPresent()) {
                // A sign-in link used again (reload, back button) while signed in: still refused,
                // but the page says what happened instead of asking to sign in.
                pages.errorPage(
                    ex, v, ErrorCode.UNAUTHORIZED, ALREADY_SIGNED_IN, refused.reason(), null, null);
              } else if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else {
                openSession(ex, v, result.identity(), safeNext(result.next()));
              }
            });
  }

  private CompletionStage<Identity> devIdentity(String raw) {
    String email = raw.strip();
    if (email.length() < 3
        || email.length() > MAX_EMAIL
        || !email.matches("[^\\s@]+@[^\\s@]+")
        || ShownText.problem(email) != null) {
      // One line of visible text, as pairing's client ids and device names: no control or
      // invisible format characters (a U+202E would show the address reversed on every page).
      return CompletableFuture.failedFuture(
          new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, "not an email address"));
    }
    return CompletableFuture.completedFuture(
        new Identity(
            DevIdentity.subjectFor(email),
            email,
            clock.instant().plus(pages.sessions().lifetime())));
  }

  private void signOut(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, ErrorCode.CSRF_REJECTED.reason());
      return;
    }
    if (v.session().isEmpty()) {
      pages.redirectWithSession(ex, v, "/", null);
      return;
    }
    pages
        .sessions()
        .end(v.subject(), v.session().get().idHash())
        .whenComplete(
            (ended, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else {
                pages.redirectWithSession(ex, v, "/", null);
              }
            });
  }

  /**
   * Where to go after sign-in: a path on this node only ({@code /...}, not {@code //host} or {@code
   * /\host}, which browsers treat as another site), else {@code /}. Sign-in is never an open
   * redirect. Characters a {@code Location} cannot carry as they are (a space, anything outside
   * ASCII, which the header would turn into {@code ?}) are percent-encoded in UTF-8: {@code
   * /\u3002evil.com} stays the path {@code /%E3%80%82evil.com} on this node. Percent-escapes
   * already in {@code next} are kept as they are: {@code java.net.URI}'s multi-argument
   * constructors and Netty's {@code QueryStringEncoder} would quote their {@code %} again ({@code
   * /a%2Fb} would become {@code /a%252Fb}, another path), hence the loop.
   */
  private static final String HEX = "0123456789ABCDEF";

  public static String safeNext(String next) {
    if (next == null
        || next.length() > 4096
        || !next.startsWith("/")
        || next.startsWith("//")
        || next.startsWith("/\\")
        || next.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '\\')) {
      return "/";
    }
    if (next.chars().noneMatch(c -> c > 0x7e || " \"<>`{}|^".indexOf(c) >= 0)) {
      return next;
    }
    StringBuilder out = new StringBuilder(next.length() + 16);
    next.codePoints()
        .forEach(
            cp -> {
              if (cp <= 0x7e && " \"<>`{}|^".indexOf(cp) < 0) {
                out.append((char) cp);
              } else {
                for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                  out.append('%').append(HEX.charAt((b >> 4) & 0xf)).append(HEX.charAt(b & 0xf));
                }
              }
            });
    return out.toString();
  }
}
