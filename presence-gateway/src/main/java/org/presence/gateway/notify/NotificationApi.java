package org.presence.gateway.notify;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.opentelemetry.context.Scope;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import org.presence.gateway.api.ApiCalls;
import org.presence.gateway.api.AppsApi;
import org.presence.gateway.auth.ApiKeyAuthenticator;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.api.NotificationBatchCodec.Ack;
import org.presence.protocol.api.NotificationBatchCodec.Judged;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.app.Application;

/**
 * {@code POST /<appid>/notification} (wiki section 6), the thin HTTP side of {@link
 * NotificationService}. Checks, in order, each failing with its documented error:
 *
 * <ol>
 *   <li>the application id in the path ({@code UNKNOWN_APP}, 404);
 *   <li>{@code Authorization: Bearer <API key>} present ({@code UNAUTHORIZED}, 401) and right
 *       ({@code INVALID_API_KEY}, 401), the application active ({@code APP_NOT_ACTIVE}, 409);
 *   <li>a JSON body ({@code UNSUPPORTED_MEDIA_TYPE}, 415);
 *   <li>the application's rate limit not exhausted ({@code APP_RATE_LIMITED}, 429 with {@code
 *       Retry-After});
 *   <li>the batch itself ({@code MALFORMED_JSON}, {@code INVALID_NOTIFICATION}, {@code
 *       BATCH_TOO_LARGE}).
 * </ol>
 *
 * The body is only read once the key is checked: the checks up to the media type run on the
 * request's header ({@link ApiKeyAuthenticator#jsonBodyOfApplication}), before any byte of the body
 * is aggregated, so a caller without a valid key costs neither the body's memory nor its parsing
 * (and they run again here, on the same cached application). The body (up to {@code
 * notifications.max-body-bytes}; 413 beyond) is retained across the key check and released once
 * parsed. A judged batch is answered 200 with the acknowledgement, one result per item.
 */
public final class NotificationApi {
  /** The route. */
  public static final String PATH = "/{appid}/notification";

  private final ApiKeyAuthenticator keys;
  private final NotificationService service;
  private final NotificationBatchCodec codec;
  private final int maxBodyBytes;

  NotificationApi(
      ApiKeyAuthenticator keys,
      NotificationService service,
      NotificationBatchCodec codec,
      int maxBodyBytes) {
    this.keys = keys;
    this.service = service;
    this.codec = codec;
    this.maxBodyBytes = maxBodyBytes;
  }

  /**
   * Adds the route, with its own body limit and the key checked on the header, before the body is
   * read.
   */
  void register(HttpRoutes.Builder routes) {
    routes.post(PATH, this::post, maxBodyBytes, keys.jsonBodyOfApplication());
  }

  private void post(HttpExchange ex) {
    long appId;
    try {
      appId = AppsApi.parseAppId(ex.param("appid"));
    } catch (ProtocolException e) {
      ex.error(e.code(), e.detail());
      return;
    }
    String auth = ex.header(HttpHeaderNames.AUTHORIZATION);
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.length() <= 7) {
      ApiCalls.fail(
          ex,
          new ProtocolException(ErrorCode.UNAUTHORIZED, "send Authorization: Bearer <API key>"));
      return;
    }
    String key = auth.substring(7).strip();
    String type = ex.header(HttpHeaderNames.CONTENT_TYPE);
    boolean json = HttpExchange.isJson(type);
    // Kept past this call for the key check; released on every path below.
    ByteBuf body = ex.body().retainedDuplicate();
    keys.authenticate(appId, key)
        .whenComplete(
            (app, e) -> {
              // A cached application completes the check right here, on the connection's event
              // loop: go on without queuing a task for it.
              if (ex.channel().eventLoop().inEventLoop()) {
                authenticated(ex, body, json, app, e);
                return;
              }
              try {
                ex.channel().eventLoop().execute(() -> authenticated(ex, body, json, app, e));
              } catch (RejectedExecutionException stopping) {
                body.release();
              }
            });
  }

  private void authenticated(
      HttpExchange ex, ByteBuf body, boolean json, Application app, Throwable failure) {
    List<Judged> batch;
    try {
      if (failure != null) {
        ApiCalls.fail(ex, failure);
        return;
      }
      if (!json) {
        ex.error(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send application/json");
        return;
      }
      if (!service.mayPost(app)) {
        long retry = service.retryAfterSeconds(app);
        ex.error(
            ErrorCode.APP_RATE_LIMITED,
            "retry in " + retry + " s",
            h -> h.set(HttpHeaderNames.RETRY_AFTER, Long.toString(retry)));
        return;
      }
      try {
        batch = codec.decode(body);
      } catch (ProtocolException e) {
        ex.error(e.code(), e.detail());
        return;
      }
    } finally {
      body.release();
    }
    // The ack is encoded on the connection's event loop, not on the store's thread that stored
    // the batch (a Redis connection's single I/O thread, say).
    CompletionStage<Ack> accepted;
    try (Scope traced = ex.traceScope()) {
      accepted = service.accept(app, batch);
    }
    accepted.whenCompleteAsync(
        (ack, e) -> {
          if (e != null) {
            ex.error(e);
          } else {
            answer(ex, ack);
          }
        },
        ex.channel().eventLoop());
  }

  private void answer(HttpExchange ex, Ack ack) {
    boolean limited =
        ack.results().stream().anyMatch(r -> r.errno() == ErrorCode.APP_RATE_LIMITED.errno());
    ByteBuf out = ex.context().alloc().buffer(64 + 80 * ack.results().size());
    try {
      NotificationBatchCodec.encodeAck(ack, out);
    } catch (RuntimeException e) {
      out.release();
      ex.error(e);
      return;
    }
    ex.respond(
        HttpResponseStatus.OK,
        HttpExchange.JSON,
        out,
        limited ? h -> h.set(HttpHeaderNames.RETRY_AFTER, "1") : null);
  }
}
