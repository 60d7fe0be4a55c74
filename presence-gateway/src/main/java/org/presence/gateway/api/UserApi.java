package org.presence.gateway.api;

import io.netty.handler.codec.http.HttpResponseStatus;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.permission.RedirectRules;
import org.presence.gateway.settings.SettingsService;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.permission.Grant;

/**
 * The user's JSON API, twin of the consent and {@code /settings} pages, for the device daemon:
 * grant, list, pause, resume and revoke grants; read (at connect) and change the presence policy
 * and messages. Authenticated by the user's identity token. Documented in {@code docs/apps-api.md}.
 */
public final class UserApi {
  private final GrantService grants;
  private final SettingsService settings;
  private final ApiCalls calls;

  public UserApi(GrantService grants, SettingsService settings, ApiCalls calls) {
    this.grants = grants;
    this.settings = settings;
    this.calls = calls;
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/api/grants", this::list)
        .post("/api/grants", this::grant)
        .put("/api/grants/{puid}", this::setEnabled)
        .delete("/api/grants/{puid}", this::revoke)
        .get("/api/settings", this::getSettings)
        .put("/api/settings", this::putSettings);
  }

  private void list(HttpExchange ex) {
    calls.run(ex, HttpResponseStatus.OK, (c, b) -> grants.list(c.subject()), ApiJson::grants);
  }

  /** The answer to a grant: the grant and, when a redirect was given, where to send the user. */
  private record Granted(Grant grant, String redirect) {}

  private void grant(HttpExchange ex) {
    calls.runWithBody(
        ex,
        HttpResponseStatus.OK,
        (c, b) -> {
          Long appId = b.integer("app_id");
          if (appId == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_APP, "app_id is required");
          }
          if (appId < 1) {
            // Given, but no application's: ids start at 1.
            throw new ProtocolException(
                ErrorCode.UNKNOWN_APP, "app_id must be a positive integer, not " + appId);
          }
          String redirect = b.string("redirect");
          String userString = b.string("id");
          if (redirect == null) {
            return grants
                .grant(c.subject(), appId, userString)
                .thenApply(granted -> new Granted(granted, null));
          }
          // With a redirect, check it as the consent page does and answer where to send the user.
          return grants
              .prepare(appId, redirect, userString)
              .thenCompose(
                  consent ->
                      grants
                          .grant(c.subject(), appId, consent.userString())
                          .thenApply(
                              granted ->
                                  new Granted(
                                      granted,
                                      RedirectRules.withParam(
                                          consent.redirect(), "puid", granted.puid()))));
        },
        (g, v) -> {
          g.writeStartObject();
          g.writeStringField("puid", v.grant().puid());
          g.writeNumberField("app_id", v.grant().appId());
          g.writeStringField("id", v.grant().userString());
          g.writeBooleanField("enabled", v.grant().enabled());
          if (v.redirect() != null) {
            g.writeStringField("redirect", v.redirect());
          }
          g.writeEndObject();
        });
  }

  private void setEnabled(HttpExchange ex) {
    String puid = ex.param("puid");
    calls.runWithBody(
        ex,
        HttpResponseStatus.OK,
        (c, b) -> {
          Boolean enabled = b.bool("enabled");
          if (enabled == null) {
            throw new ProtocolException(ErrorCode.MISSING_FIELD, "enabled");
          }
          return grants.setEnabled(c.subject(), puid, enabled);
        },
        ApiJson::grant);
  }

  private void revoke(HttpExchange ex) {
    String puid = ex.param("puid");
    // The answer describes the grant as it is now: revoked, so not enabled (the stored row said
    // what it was before).
    calls.run(
        ex,
        HttpResponseStatus.OK,
        (c, b) ->
            grants
                .revoke(c.subject(), puid)
                .thenApply(
                    g ->
                        new Grant(
                            g.puid(),
                            g.userSub(),
                            g.appId(),
                            g.userString(),
                            false,
                            g.createdAt(),
                            g.updatedAt())),
        ApiJson::grant);
  }

  private void getSettings(HttpExchange ex) {
    // The device daemon reads its user's presence policy with its paired device's token.
    calls.runForDevice(
        ex, HttpResponseStatus.OK, (c, b) -> settings.read(c.subject()), ApiJson::settings);
  }

  private void putSettings(HttpExchange ex) {
    calls.runWithBody(
        ex,
        HttpResponseStatus.OK,
        (c, b) ->
            settings.update(
                c.subject(),
                new SettingsService.Change(
                    b.smallInt("online_within_minutes"),
                    b.smallInt("away_after_minutes"),
                    b.smallInt("offline_after_minutes"),
                    b.string("custom_status"),
                    b.string("away_message"))),
        ApiJson::settings);
  }
}
