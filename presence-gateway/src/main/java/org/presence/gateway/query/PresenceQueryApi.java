package org.presence.gateway.query;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.github.benmanes.caffeine.cache.Ticker;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import org.presence.gateway.api.ApiCalls;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.auth.ApiKeyAuthenticator;
import org.presence.gateway.config.QueriesConfig;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;
import org.presence.store.app.Application;
import org.presence.store.cluster.SharedValues;
import org.presence.store.permission.GrantRepository;
import org.presence.store.permission.Puids;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceView;

/**
 * Presence queries of applications (docs/api.md), answered from the state the update channel reads
 * ({@link PresenceQueries}):
 *
 * <ul>
 *   <li>{@code GET /<appid>/presence/<puid>}: one user;
 *   <li>{@code POST /<appid>/presence} with {@code {"puids": [...]}}: up to {@link
 *       QueriesConfig#MAX_BATCH} users, answered in the order asked;
 *   <li>{@code GET /<appid>/presence/stats}: the application's enabled PUIDs by status.
 * </ul>
 *
 * Checks, in order: the application id ({@code UNKNOWN_APP}, 404), {@code Authorization: Bearer
 * <API key>} ({@code UNAUTHORIZED} / {@code INVALID_API_KEY}, 401; {@code APP_NOT_ACTIVE}, 409),
 * the application's query rate ({@code QUERY_RATE_LIMITED}, 429 with {@code Retry-After}), then the
 * input ({@code INVALID_PUID}, {@code TOO_MANY_PUIDS}, {@code MALFORMED_JSON}, {@code
 * UNSUPPORTED_MEDIA_TYPE}). A caller without a valid key learns nothing about the input and costs
 * no parsing; the batch body is retained across the key check and released on every path.
 */
public final class PresenceQueryApi {
  /** The single form; {@code stats} is registered before it. */
  public static final String ONE = "/{appid}/presence/{puid}";

  /** The stats. */
  public static final String STATS = "/{appid}/presence/stats";

  /** The batch form. */
  public static final String MANY = "/{appid}/presence";

  /** Body limit of the batch form: 1,000 PUIDs of 43 characters, quoted, with room to spare. */
  static final int MAX_BODY_BYTES = 64 * 1024;

  private final ApiKeyAuthenticator keys;
  private final PresenceQueries queries;
  private final QueryRateLimiter limiter;

  public PresenceQueryApi(
      ApiKeyAuthenticator keys,
      GrantRepository grants,
      PresenceStateStore state,
      SharedValues shared,
      String nodeId,
      QueriesConfig config) {
    this.keys = keys;
    this.queries =
        new PresenceQueries(
            grants, state, shared, nodeId, config.statsTtl(), Ticker.systemTicker());
    this.limiter = new QueryRateLimiter(config.rate(), config.burst());
  }

  /** Adds the three routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get(STATS, this::stats)
        .get(ONE, this::one)
        .post(MANY, this::many, MAX_BODY_BYTES, keys.jsonBodyOfApplication());
  }

  private void one(HttpExchange ex) {
    String puid = ex.param("puid");
    authenticated(
        ex,
        app -> {
          if (!Puids.wellFormed(puid)) {
            throw new ProtocolException(ErrorCode.INVALID_PUID, "43 base64url characters");
          }
          return queries
              .one(app.id(), puid)
              .thenAccept(seen -> ex.json(HttpResponseStatus.OK, g -> write(g, seen)));
        });
  }

  private void stats(HttpExchange ex) {
    authenticated(
        ex,
        app ->
            queries
                .stats(app.id())
                .thenAccept(
                    s ->
                        ex.json(
                            HttpResponseStatus.OK,
                            g -> {
                              g.writeStartObject();
                              g.writeNumberField("online", s.online());
                              g.writeNumberField("away", s.away());
                              g.writeNumberField("unavailable", s.unavailable());
                              g.writeNumberField("offline", s.offline());
                              g.writeNumberField("puids", s.total());
                              g.writeStringField(
                                  "counted_at",
                                  DateTimeFormatter.ISO_INSTANT.format(s.countedAt()));
                              g.writeEndObject();
                            })));
  }

  private void many(HttpExchange ex) {
    String type = ex.header(HttpHeaderNames.CONTENT_TYPE);
    boolean json = HttpExchange.isJson(type);
    // Kept past this call for the key check; released on every path below.
    ByteBuf body = ex.body().retainedDuplicate();
    boolean handed = false;
    try {
      handed =
          authenticated(
              ex,
              app -> {
                List<String> puids;
                try {
                  if (!json) {
                    throw new ProtocolException(
                        ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send application/json");
                  }
                  puids = parse(body);
                } finally {
                  body.release();
                }
                return queries
                    .many(app.id(), puids)
                    .thenAccept(
                        list ->
                            ex.json(
                                HttpResponseStatus.OK,
                                g -> {
                                  g.writeStartObject();
                                  g.writeArrayFieldStart("presence");
                                  for (PresenceQueries.Seen s : list) {
                                    write(g, s);
                                  }
                                  g.writeEndArray();
                                  g.writeEndObject();
                                }));
              },
              body::release);
    } finally {
      if (!handed) {
        body.release();
      }
    }
  }

  /**
   * {@code {"puids": ["...", ...]}}: at most {@link QueriesConfig#MAX_BATCH} well-formed PUIDs (no
   * other field).
   */
  static List<String> parse(ByteBuf body) {
    List<String> puids = new ArrayList<>();
    boolean seen = false;
    // Json.parser refuses invalid UTF-8 first; the duplicate leaves the caller's indexes alone.
    try (JsonParser p = Json.parser(Json.documents(), body.duplicate())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (!"puids".equals(name)) {
          throw new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, "unknown field " + name);
        }
        if (v != JsonToken.START_ARRAY) {
          throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, "puids: an array of strings");
        }
        seen = true;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
          if (t != JsonToken.VALUE_STRING) {
            throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, "puids: an array of strings");
          }
          if (puids.size() == QueriesConfig.MAX_BATCH) {
            throw new ProtocolException(
                ErrorCode.TOO_MANY_PUIDS, "at most " + QueriesConfig.MAX_BATCH);
          }
          String puid = p.getText();
          if (!Puids.wellFormed(puid)) {
            throw new ProtocolException(
                ErrorCode.INVALID_PUID, "puids[" + puids.size() + "]: 43 base64url characters");
          }
          puids.add(puid);
        }
      }
      if (p.nextToken() != null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing data");
      }
    } catch (IOException e) {
      throw Json.refusal(e);
    }
    if (!seen) {
      throw new ProtocolException(ErrorCode.MISSING_FIELD, "puids");
    }
    return puids;
  }

  private static void write(JsonGenerator g, PresenceQueries.Seen s) throws IOException {
    PresenceView v = s.view();
    g.writeStartObject();
    g.writeStringField("puid", s.puid());
    g.writeStringField("status", v.status().wireName());
    // An offline user shows nothing more, so that offline, paused and unknown look alike.
    if (v.status() != org.presence.protocol.model.PresenceStatus.OFFLINE) {
      g.writeStringField("message", v.message() == null ? "" : v.message());
      g.writeNumberField("version", v.version());
    }
    g.writeEndObject();
  }

  private boolean authenticated(
      HttpExchange ex, Function<Application, CompletionStage<Void>> action) {
    return authenticated(ex, action, () -> {});
  }

  /**
   * Checks the application id, the key and the rate, then runs {@code action} on the connection's
   * event loop; any failure is answered. Returns whether {@code action} or {@code abandoned} will
   * run (exactly one of them does, once the key check completes).
   */
  private boolean authenticated(
      HttpExchange ex, Function<Application, CompletionStage<Void>> action, Runnable abandoned) {
    long appId;
    try {
      appId = AppsApi.parseAppId(ex.param("appid"));
    } catch (ProtocolException e) {
      ex.error(e.code(), e.detail());
      return false;
    }
    String auth = ex.header(HttpHeaderNames.AUTHORIZATION);
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.length() <= 7) {
      ApiCalls.fail(
          ex,
          new ProtocolException(ErrorCode.UNAUTHORIZED, "send Authorization: Bearer <API key>"));
      return false;
    }
    keys.authenticate(appId, auth.substring(7).strip())
        .whenComplete(
            (app, failure) -> {
              try {
                ex.channel().eventLoop().execute(() -> run(ex, app, failure, action, abandoned));
              } catch (RejectedExecutionException stopping) {
                abandoned.run();
              }
            });
    return true;
  }

  private void run(
      HttpExchange ex,
      Application app,
      Throwable failure,
      Function<Application, CompletionStage<Void>> action,
      Runnable abandoned) {
    if (failure != null) {
      abandoned.run();
      ApiCalls.fail(ex, failure);
      return;
    }
    long retry = limiter.take(app.id());
    if (retry > 0) {
      abandoned.run();
      ex.error(
          ErrorCode.QUERY_RATE_LIMITED,
          "retry in " + retry + " s",
          h -> h.set(HttpHeaderNames.RETRY_AFTER, Long.toString(retry)));
      return;
    }
    try {
      action
          .apply(app)
          .whenComplete(
              (v, e) -> {
                if (e != null) {
                  ex.error(e);
                }
              });
    } catch (RuntimeException e) {
      ex.error(e);
    }
  }
}
