package org.presence.gateway.api;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import org.presence.gateway.app.AppService;
import org.presence.gateway.app.DomainVerifier;
import org.presence.gateway.permission.GrantService;
import org.presence.store.app.Application;
import org.presence.store.permission.Grant;
import org.presence.store.user.UserSettings;

/** The JSON shapes of the API's answers (documented in {@code docs/apps-api.md}). */
public final class ApiJson {
  private ApiJson() {}

  /** An application as its developer sees it, with its endpoints at {@code baseUrl}. */
  public static void app(JsonGenerator g, Application app, String baseUrl) throws IOException {
    g.writeStartObject();
    g.writeNumberField("id", app.id());
    g.writeStringField("name", app.name());
    g.writeStringField("domain", app.domain());
    g.writeStringField("description", app.description());
    g.writeStringField("owner_email", app.ownerEmail());
    g.writeStringField("state", app.state().wireName());
    g.writeBooleanField("suspended", app.suspended());
    g.writeStringField("verification_key", app.verificationKey());
    g.writeStringField("verification_url", DomainVerifier.proofUrl(app.domain()));
    g.writeStringField("verification_txt", DomainVerifier.txtName(app.domain()));
    g.writeStringField("webhook_url", app.webhookUrl());
    g.writeStringField("webhook_secret", app.webhookSecret());
    g.writeObjectFieldStart("endpoints");
    Endpoints e = Endpoints.of(baseUrl, app.id());
    g.writeStringField("grant", e.grant());
    g.writeStringField("updates", e.updates());
    g.writeStringField("stream", e.stream());
    g.writeStringField("notifications", e.notifications());
    g.writeEndObject();
    g.writeStringField("created_at", app.createdAt().toString());
    g.writeStringField("updated_at", app.updatedAt().toString());
    g.writeEndObject();
  }

  /** A list of applications under {@code "apps"}. */
  public static void apps(JsonGenerator g, List<Application> apps, String baseUrl)
      throws IOException {
    g.writeStartObject();
    g.writeArrayFieldStart("apps");
    for (Application a : apps) {
      app(g, a, baseUrl);
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  /** A freshly made API key with its application. */
  public static void issuedKey(JsonGenerator g, AppService.IssuedKey k) throws IOException {
    g.writeStartObject();
    g.writeNumberField("id", k.app().id());
    g.writeStringField("state", k.app().state().wireName());
    if (k.apiKey() != null) {
      g.writeStringField("api_key", k.apiKey());
    }
    g.writeEndObject();
  }

  /** One grant. */
  public static void grant(JsonGenerator g, Grant grant) throws IOException {
    g.writeStartObject();
    writeGrantFields(g, grant);
    g.writeEndObject();
  }

  private static void writeGrantFields(JsonGenerator g, Grant grant) throws IOException {
    g.writeStringField("puid", grant.puid());
    g.writeNumberField("app_id", grant.appId());
    g.writeStringField("id", grant.userString());
    g.writeBooleanField("enabled", grant.enabled());
    g.writeStringField("created_at", grant.createdAt().toString());
  }

  /** The user's grants under {@code "grants"}, with application names. */
  public static void grants(JsonGenerator g, List<GrantService.GrantView> views)
      throws IOException {
    g.writeStartObject();
    g.writeArrayFieldStart("grants");
    for (GrantService.GrantView v : views) {
      g.writeStartObject();
      writeGrantFields(g, v.grant());
      g.writeStringField("app_name", v.appName());
      g.writeStringField("app_domain", v.appDomain());
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  /** The user's settings: policy and messages. */
  public static void settings(JsonGenerator g, UserSettings s) throws IOException {
    g.writeStartObject();
    g.writeNumberField("online_within_minutes", s.onlineWithinMinutes());
    g.writeNumberField("away_after_minutes", s.awayAfterMinutes());
    g.writeNumberField("offline_after_minutes", s.offlineAfterMinutes());
    g.writeStringField("custom_status", s.customStatus());
    g.writeStringField("away_message", s.awayMessage());
    g.writeEndObject();
  }

  /**
   * The URLs an application uses, at this node.
   *
   * @param grant the consent page, with placeholders for the redirect and user string
   * @param updates the update channel (WebSocket)
   * @param stream the update stream
   * @param notifications where live notifications are posted
   */
  public record Endpoints(String grant, String updates, String stream, String notifications) {
    /** The endpoints of application {@code id} at {@code baseUrl}. */
    public static Endpoints of(String baseUrl, long id) {
      String ws = baseUrl.replaceFirst("^http", "ws");
      return new Endpoints(
          baseUrl + "/" + id + "/grant?redirect=<url>&id=<userstring>",
          ws + "/" + id,
          baseUrl + "/" + id + "/presence.json",
          baseUrl + "/" + id + "/notification");
    }
  }
}
