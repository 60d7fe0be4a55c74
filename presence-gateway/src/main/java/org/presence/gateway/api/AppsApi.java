package org.presence.gateway.api;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.presence.gateway.app.AppService;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The developer's JSON API, twin of the {@code /myapps} portal, for scripts: every portal action as
 * a call authenticated by the developer's identity token. Paths and shapes are in {@code
 * docs/apps-api.md}.
 */
public final class AppsApi {
  private final AppService apps;
  private final ApiCalls calls;
  private final Supplier<String> baseUrl;

  public AppsApi(AppService apps, ApiCalls calls, Supplier<String> baseUrl) {
    this.apps = apps;
    this.calls = calls;
    this.baseUrl = baseUrl;
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/api/apps", this::list)
        .post("/api/apps", this::create)
        .get("/api/apps/{id}", this::get)
        .post("/api/apps/{id}/verify", this::verify)
        .post("/api/apps/{id}/activate", this::activate)
        .post("/api/apps/{id}/key", this::regenerate)
        .post("/api/apps/{id}/deactivate", this::deactivate)
        .put("/api/apps/{id}/webhook", this::setWebhook)
        .delete("/api/apps/{id}/webhook", this::clearWebhook);
  }

  private void list(HttpExchange ex) {
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.list(caller.subject()),
        (g, list) -> ApiJson.apps(g, list, baseUrl.get()));
  }

  private void create(HttpExchange ex) {
    calls.runWithBody(
        ex,
        HttpResponseStatus.CREATED,
        (caller, body) ->
            apps.registerOnce(
                caller,
                body.string("name"),
                body.string("domain"),
                body.string("description"),
                idempotencyKey(ex.header(IDEMPOTENCY_KEY))),
        (g, app) -> ApiJson.app(g, app, baseUrl.get()));
  }

  static final String IDEMPOTENCY_KEY = "Idempotency-Key";

  private static final Pattern KEY =
      Pattern.compile("[A-Za-z0-9._~:+/=-]{1," + AppService.MAX_IDEMPOTENCY_KEY + "}");

  /**
   * The request's {@code Idempotency-Key} (null when it has none): 1 to 60 characters of letters,
   * digits and {@code . _ ~ : + / = -}, bare or as a structured-field string ({@code "..."}, the
   * IETF draft's form); anything else is {@link ErrorCode#BAD_REQUEST}.
   */
  static String idempotencyKey(String header) {
    if (header == null) {
      return null;
    }
    String v = header.strip();
    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
      v = v.substring(1, v.length() - 1);
    }
    if (!KEY.matcher(v).matches()) {
      throw new ProtocolException(
          ErrorCode.BAD_REQUEST,
          IDEMPOTENCY_KEY
              + ": 1 to "
              + AppService.MAX_IDEMPOTENCY_KEY
              + " letters, digits or . _ ~ : + / = -");
    }
    return v;
  }

  private void get(HttpExchange ex) {
    long id = appId(ex);
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.get(caller.subject(), id),
        (g, app) -> ApiJson.app(g, app, baseUrl.get()));
  }

  private void verify(HttpExchange ex) {
    long id = appId(ex);
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.verify(caller.subject(), id),
        (g, app) -> ApiJson.app(g, app, baseUrl.get()));
  }

  private void activate(HttpExchange ex) {
    long id = appId(ex);
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.activate(caller.subject(), id),
        ApiJson::issuedKey);
  }

  private void regenerate(HttpExchange ex) {
    long id = appId(ex);
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.regenerateKey(caller.subject(), id),
        ApiJson::issuedKey);
  }

  private void deactivate(HttpExchange ex) {
    long id = appId(ex);
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.deactivate(caller.subject(), id),
        (g, app) -> ApiJson.app(g, app, baseUrl.get()));
  }

  private void setWebhook(HttpExchange ex) {
    long id = appId(ex);
    calls.runWithBody(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.setWebhook(caller.subject(), id, body.string("url")),
        (g, app) -> ApiJson.app(g, app, baseUrl.get()));
  }

  private void clearWebhook(HttpExchange ex) {
    long id = appId(ex);
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (caller, body) -> apps.clearWebhook(caller.subject(), id),
        (g, app) -> ApiJson.app(g, app, baseUrl.get()));
  }

  /** The {@code {id}} path parameter: a positive integer, else {@code UNKNOWN_APP}. */
  static long appId(HttpExchange ex) {
    return parseAppId(ex.param("id"));
  }

  /** A positive application id, or {@code UNKNOWN_APP}. */
  public static long parseAppId(String s) {
    if (s == null || !s.matches("[1-9][0-9]{0,17}")) {
      throw new ProtocolException(ErrorCode.UNKNOWN_APP, "no application " + abbreviate(s));
    }
    return Long.parseLong(s);
  }

  private static String abbreviate(String s) {
    if (s == null) {
      return "";
    }
    return s.length() > 20 ? s.substring(0, 20) + "…" : s;
  }
}
