package org.presence.gateway.pairing;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.net.InetAddress;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.PresenceKeys;
import org.presence.gateway.net.AddressRateLimiter;
import org.presence.gateway.net.ClientAddress;
import org.presence.gateway.pages.PageSupport;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ShownText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of pairing: {@code POST /oauth/device_authorization} and {@code POST /oauth/token}
 * (RFC 8628 and RFC 6749 §5: form bodies in, JSON out, errors as {@code {"error": ...,
 * "error_description": ...}} with 400), {@code GET /.well-known/jwks.json} (Presence's public
 * signing keys), and the signed-in page {@code /pair} where the user enters a device's code, names
 * it and approves or denies, and sees and revokes their paired devices.
 */
public final class PairingEndpoints {
  private static final Logger LOG = LoggerFactory.getLogger(PairingEndpoints.class);

  /**
   * The {@code client_id} the Presence device daemon sends; any other one line of visible text is
   * accepted too ({@link PairingService#clientIdProblem}).
   */
  public static final String DAEMON_CLIENT_ID = "presence-device";

  static final String DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

  /** The notices of {@code /pair?done=...}, after the page's forms (POST-redirect-GET). */
  private static final Map<String, String> DONE =
      Map.of(
          "approved",
          "Approved: the device is pairing. It appears under \u201cPaired devices\u201d once it"
              + " finishes signing in, within a few seconds.",
          "denied",
          "Denied: the device was not paired.",
          "revoked",
          "Device revoked: its sessions have ended and it must be paired again.",
          "revoked-all",
          "Revoked all your paired devices: their sessions have ended.");

  private static final DateTimeFormatter WHEN =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", java.util.Locale.ROOT)
          .withZone(ZoneOffset.UTC);

  private final PairingService pairing;
  private final PresenceKeys keys;
  private final PageSupport pages;
  private final java.util.function.Supplier<String> baseUrl;
  private final AddressRateLimiter requests;

  /**
   * @param requests the per-address limit on new pairing requests (each stores a row)
   */
  public PairingEndpoints(
      PairingService pairing,
      PresenceKeys keys,
      PageSupport pages,
      java.util.function.Supplier<String> baseUrl,
      AddressRateLimiter requests) {
    this.requests = requests;
    this.pairing = pairing;
    this.keys = keys;
    this.pages = pages;
    this.baseUrl = baseUrl;
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .post("/oauth/device_authorization", this::deviceAuthorization, 4096)
        .post("/oauth/token", this::token, 4096)
        .get("/.well-known/jwks.json", this::jwks)
        .get("/pair", pages.guard(this::showPair))
        .post("/pair", pages.guard(this::postPair), 4096)
        .post("/pair/devices/{id:[0-9a-f-]{36}|all}/revoke", pages.guard(this::revoke), 4096);
  }

  private void jwks(HttpExchange ex) {
    String json = keys.publicKeys().toString(true);
    ex.respond(HttpResponseStatus.OK, HttpExchange.JSON, json);
  }

  private void deviceAuthorization(HttpExchange ex) {
    Map<String, List<String>> form = oauthForm(ex);
    if (form == null) {
      return;
    }
    InetAddress address = ClientAddress.of(ex.channel());
    long now = System.nanoTime();
    if (!requests.tryAcquire(address, now)) {
      // As every other 429 of the node: when a new request would be let in.
      String retry = Long.toString(requests.retryAfterSeconds(address, now));
      ex.oauthError(
          HttpResponseStatus.TOO_MANY_REQUESTS,
          "slow_down",
          "too many pairing requests from this address; try again later",
          h -> h.set(HttpHeaderNames.RETRY_AFTER, retry));
      return;
    }
    String clientId = PageSupport.field(form, "client_id");
    String refused = PairingService.clientIdProblem(clientId);
    if (refused != null) {
      ex.oauthError(HttpResponseStatus.BAD_REQUEST, "invalid_client", refused, null);
      return;
    }
    pairing
        .authorize(clientId, address.getHostAddress())
        .whenComplete(
            (a, e) -> {
              if (e != null) {
                ex.error(e);
                return;
              }
              String uri = baseUrl.get() + "/pair";
              ex.json(
                  HttpResponseStatus.OK,
                  g -> {
                    g.writeStartObject();
                    g.writeStringField("device_code", a.deviceCode());
                    g.writeStringField("user_code", PairingService.display(a.userCode()));
                    g.writeStringField("verification_uri", uri);
                    g.writeStringField(
                        "verification_uri_complete",
                        uri + "?code=" + PairingService.display(a.userCode()));
                    g.writeNumberField("expires_in", a.expiresIn());
                    g.writeNumberField("interval", a.interval());
                    g.writeEndObject();
                  });
            });
  }

  private void token(HttpExchange ex) {
    Map<String, List<String>> form = oauthForm(ex);
    if (form == null) {
      return;
    }
    String grant = PageSupport.field(form, "grant_type");
    java.util.concurrent.CompletionStage<PairingService.Poll> result;
    String needed =
        DEVICE_CODE_GRANT.equals(grant)
            ? "device_code"
            : "refresh_token".equals(grant) ? "refresh_token" : null;
    String code = needed == null ? null : PageSupport.field(form, needed);
    if (needed != null && (code == null || code.isEmpty())) {
      // RFC 6749 section 5.2: a missing parameter is invalid_request (invalid_grant is for a
      // code that is unknown, used or expired).
      ex.oauthError(
          HttpResponseStatus.BAD_REQUEST, "invalid_request", needed + " is required", null);
      return;
    }
    // RFC 8628 section 3.4 and RFC 6749 section 6: a public client (there are no client secrets)
    // names itself on every token request; a code or refresh token answers only the client_id it
    // was issued to.
    String clientId = PageSupport.field(form, "client_id");
    if (needed != null && (clientId == null || clientId.isEmpty())) {
      ex.oauthError(
          HttpResponseStatus.BAD_REQUEST, "invalid_request", "client_id is required", null);
      return;
    }
    if (DEVICE_CODE_GRANT.equals(grant)) {
      result = pairing.poll(code, clientId);
    } else if ("refresh_token".equals(grant)) {
      result = pairing.refresh(code, clientId);
    } else {
      ex.oauthError(
          HttpResponseStatus.BAD_REQUEST,
          "unsupported_grant_type",
          "grant_type must be " + DEVICE_CODE_GRANT + " or refresh_token",
          null);
      return;
    }
    result.whenComplete(
        (poll, e) -> {
          if (e != null) {
            ex.error(e);
          } else if (poll instanceof PairingService.PollError pe) {
            ex.oauthError(HttpResponseStatus.BAD_REQUEST, pe.error(), pe.description(), null);
          } else if (poll instanceof PairingService.Tokens t) {
            ex.respond(
                HttpResponseStatus.OK,
                HttpExchange.JSON,
                io.netty.buffer.Unpooled.copiedBuffer(
                    tokenJson(t), java.nio.charset.StandardCharsets.UTF_8),
                h -> {
                  h.set("Cache-Control", "no-store");
                  h.set("Pragma", "no-cache");
                });
          }
        });
  }

  private static String tokenJson(PairingService.Tokens t) {
    try {
      var out = new java.io.StringWriter();
      try (var g = org.presence.protocol.json.Json.documents().createGenerator(out)) {
        g.writeStartObject();
        g.writeStringField("access_token", t.identityToken());
        g.writeStringField("token_type", "Bearer");
        g.writeNumberField("expires_in", t.expiresIn());
        g.writeStringField("refresh_token", t.refreshToken());
        g.writeEndObject();
      }
      return out.toString();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The form of an OAuth request, or {@code null} after answering a bad one with {@code
   * invalid_request} (RFC 6749 §5.2, RFC 8628 §3.1): a body that is not a form, or a form that is
   * not well-formed (a broken percent-escape, invalid UTF-8, a parameter given twice).
   */
  private static Map<String, List<String>> oauthForm(HttpExchange ex) {
    try {
      return PageSupport.form(ex);
    } catch (ProtocolException e) {
      ex.oauthError(
          HttpResponseStatus.BAD_REQUEST,
          "invalid_request",
          e.code() == ErrorCode.UNSUPPORTED_MEDIA_TYPE
              ? "the body must be application/x-www-form-urlencoded"
              : e.reason(),
          null);
      return null;
    }
  }

  // ---- /pair ----

  private void showPair(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    String code = ex.query("code").orElse("");
    if (v.session().isEmpty()) {
      // Back to this page with the device's code after signing in (the link the device shows).
      pages.toSignIn(
          ex,
          v,
          "/pair"
              + PairingService.normalise(code)
                  .map(c -> "?code=" + PairingService.display(c))
                  .orElse(""));
      return;
    }
    if (code.isEmpty()) {
      // The outcome of the form just posted (POST-redirect-GET): one of a few fixed sentences,
      // picked by the address, which carries no text of its own.
      String done = ex.query("done").orElse("");
      render(
          ex, v, HttpResponseStatus.OK, code, DONE.get(done), null, null, done.equals("approved"));
      return;
    }
    // The device's link names its code: show what asked for it (when, from where, which client)
    // before the user approves, so that a code someone else sent them (RFC 8628 §5.4, remote
    // phishing) shows an address and a time that are not their device's. A code looked up counts
    // as an entered one: unknown codes count against the user's wrong-code limit.
    if (!pairing.mayTry(v.subject())) {
      render(
          ex,
          v,
          HttpResponseStatus.TOO_MANY_REQUESTS,
          "",
          null,
          "Too many wrong codes: wait a few minutes before trying again.");
      return;
    }
    pairing
        .pending(v.subject(), code)
        .whenComplete(
            (request, e) -> {
              if (e != null) {
                pages.errorPage(ex, v, e instanceof CompletionException c ? c.getCause() : e);
              } else if (request.isEmpty()) {
                render(
                    ex,
                    v,
                    HttpResponseStatus.BAD_REQUEST,
                    "",
                    null,
                    "Unknown or expired code: check the code the device shows.");
              } else {
                render(ex, v, HttpResponseStatus.OK, code, null, null, request.get(), false);
              }
            });
  }

  private void render(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String code,
      String notice,
      String error) {
    render(ex, v, status, code, notice, error, null, false);
  }

  private void render(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String code,
      String notice,
      String error,
      PairingService.PendingRequest request,
      boolean justApproved) {
    pairing
        .list(v.subject())
        .whenComplete(
            (devices, e) -> {
              if (e != null) {
                pages.errorPage(ex, v, e);
                return;
              }
              Map<String, Object> m = pages.model(v, "Pair a device");
              m.put("code", PairingService.normalise(code).map(PairingService::display).orElse(""));
              m.put("notice", notice);
              m.put("error", error);
              if (request != null) {
                m.put("request", requestModel(request));
              }
              List<Map<String, Object>> rows = rows(devices);
              m.put("devices", rows);
              m.put("hasDevices", !rows.isEmpty());
              m.put("justApproved", justApproved);
              pages.render(ex, v, status, "pair", m);
            });
  }

  /** What the page says of a pending request (a request made before its columns existed: less). */
  private static Map<String, Object> requestModel(PairingService.PendingRequest r) {
    Map<String, Object> m = new HashMap<>();
    m.put("clientId", r.clientId());
    m.put("requestedAt", r.requestedAt() == null ? null : WHEN.format(r.requestedAt()));
    m.put("from", r.from());
    m.put("expiresAt", WHEN.format(r.expiresAt()));
    return m;
  }

  /** The rows of the "Paired devices" tables (here and on {@code /settings}). */
  static List<Map<String, Object>> rows(List<PairingService.PairedDevice> devices) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (PairingService.PairedDevice d : devices) {
      rows.add(
          Map.of(
              "id",
              d.id(),
              "name",
              d.name(),
              "pairedAt",
              WHEN.format(d.pairedAt()),
              "lastSeenAt",
              WHEN.format(d.lastSeenAt()),
              "revoked",
              d.revoked()));
    }
    return rows;
  }

  /** The "Paired devices" section of {@code /settings}. */
  public org.presence.gateway.pages.SettingsPages.PairedDevicesSection settingsSection() {
    return user -> pairing.list(user).thenApply(PairingEndpoints::rows);
  }

  private void postPair(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (v.session().isEmpty()) {
      pages.toSignIn(ex, v, "/pair");
      return;
    }
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, null);
      return;
    }
    String user = v.subject();
    String code = Optional.ofNullable(PageSupport.field(form, "code")).orElse("");
    String action = Optional.ofNullable(PageSupport.field(form, "action")).orElse("");
    String name = Optional.ofNullable(PageSupport.field(form, "name")).orElse("").strip();
    if (!pairing.mayTry(user)) {
      render(
          ex,
          v,
          HttpResponseStatus.TOO_MANY_REQUESTS,
          "",
          null,
          "Too many wrong codes: wait a few minutes before trying again.");
      return;
    }
    boolean approve = action.equals("approve");
    if (!approve && !action.equals("deny")) {
      render(ex, v, HttpResponseStatus.BAD_REQUEST, code, null, "Choose Approve or Deny.");
      return;
    }
    if (approve && (name.isEmpty() || name.length() > PairingService.MAX_NAME)) {
      render(
          ex,
          v,
          HttpResponseStatus.BAD_REQUEST,
          code,
          null,
          "Name the device (1 to " + PairingService.MAX_NAME + " characters).");
      return;
    }
    if (approve && ShownText.problem(name) != null) {
      render(
          ex,
          v,
          HttpResponseStatus.BAD_REQUEST,
          code,
          null,
          "The device name contains an invisible control character; type it again without it.");
      return;
    }
    String email = v.session().get().email();
    pairing
        .decide(user, email, code, approve, name)
        .whenComplete(
            (ok, e) -> {
              if (e != null) {
                pages.errorPage(ex, v, e instanceof CompletionException c ? c.getCause() : e);
              } else if (!ok) {
                render(
                    ex,
                    v,
                    HttpResponseStatus.BAD_REQUEST,
                    "",
                    null,
                    "Unknown or expired code: check the code the device shows.");
              } else {
                // POST-redirect-GET: a reload shows the outcome again rather than sending the
                // used code a second time ("Unknown or expired code" after a pairing that worked).
                pages.redirect(ex, v, "/pair?done=" + (approve ? "approved" : "denied"), null);
              }
            });
  }

  private void revoke(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (v.session().isEmpty()) {
      pages.toSignIn(ex, v, "/pair");
      return;
    }
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, null);
      return;
    }
    String id = ex.param("id");
    pairing
        .revoke(v.subject(), id.equals("all") ? null : id)
        .whenComplete(
            (n, e) -> {
              if (e != null) {
                LOG.warn("revoking paired devices failed: {}", e.toString());
                pages.errorPage(ex, v, e instanceof CompletionException c ? c.getCause() : e);
              } else if (!id.equals("all") && n == 0) {
                pages.errorPage(
                    ex,
                    v,
                    ErrorCode.NOT_FOUND,
                    "no such paired device of yours, or revoked already");
              } else if ("settings".equals(PageSupport.field(form, "next"))) {
                pages.redirect(ex, v, "/settings?done=device", null);
              } else {
                pages.redirect(
                    ex, v, "/pair?done=" + (id.equals("all") ? "revoked-all" : "revoked"), null);
              }
            });
  }
}
