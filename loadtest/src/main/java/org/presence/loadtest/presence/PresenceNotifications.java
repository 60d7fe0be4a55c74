package org.presence.loadtest.presence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.NotificationApi;
import org.presence.loadtest.targets.Reply;
import org.presence.loadtest.transport.HttpPoster;
import org.presence.loadtest.transport.Urls;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * {@code POST /<appid>/notification} for the harness (issue 6). It posts as the applications {@link
 * PresenceSetup} registered before the run (app number {@code n} is the {@code n}-th), to the PUIDs
 * their device users received then. A post sends one item per recipient, whose message is the
 * stamp; the answer is an ack when every item was stored, else the first item's errno.
 */
public final class PresenceNotifications implements NotificationApi {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final HttpPoster http;
  private final Supplier<PresenceSetup.Setup> setup;

  /**
   * Posts to the node or cluster at {@code base} as the applications of {@code setup}, over {@code
   * http}'s kept-alive connections on the caller's event loop.
   */
  public PresenceNotifications(URI base, HttpPoster http, Supplier<PresenceSetup.Setup> setup) {
    this.base = base;
    this.http = http;
    this.setup = setup;
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalStateException("not JSON: " + text, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Posting

  @Override
  public CompletionStage<Reply> post(EventLoop loop, int app, List<Long> users, String message) {
    PresenceSetup.Setup run = setup.get();
    PresenceSetup.AppKey a = app >= 0 && app < run.apps().size() ? run.apps().get(app) : null;
    if (a == null) {
      return CompletableFuture.failedFuture(
          new ClientException("not-prepared", "app " + app + " was not set up"));
    }
    List<NotificationBatchCodec.Item> items = new ArrayList<>(users.size());
    for (long u : users) {
      String puid = u % run.apps().size() == app ? run.puid(u) : null;
      if (puid == null) {
        return CompletableFuture.failedFuture(
            new ClientException("not-prepared", "user " + u + " has no PUID for app " + app));
      }
      items.add(
          new NotificationBatchCodec.Item(
              puid, message, "https://loadtest.invalid/open", null, false));
    }
    ByteBuf body = PooledByteBufAllocator.DEFAULT.buffer(64 + 120 * items.size());
    try {
      NotificationBatchCodec.encodeBatch(items, body);
    } catch (RuntimeException e) {
      body.release();
      throw e;
    }
    CompletableFuture<Reply> done = new CompletableFuture<>();
    http.post(
            loop,
            Urls.http(base, "/" + a.id() + "/notification"),
            "Bearer " + a.key(),
            "application/json",
            body)
        .whenComplete(
            (r, e) -> {
              if (e != null) {
                done.completeExceptionally(
                    new ClientException(ClientException.kindOf(e), String.valueOf(e.getMessage())));
              } else {
                done.complete(reply(r.status(), r.body()));
              }
            });
    return done;
  }

  /** The harness's reading of an answer. */
  static Reply reply(int status, byte[] body) {
    ByteBuf b = Unpooled.wrappedBuffer(body);
    try {
      if (status != 200) {
        JsonNode err = json(new String(body, StandardCharsets.UTF_8));
        return Reply.error(
            err.path("errno").asInt(ErrorCode.INTERNAL_ERROR.errno()), err.path("reason").asText());
      }
      NotificationBatchCodec.Ack ack = NotificationBatchCodec.decodeAck(b);
      for (NotificationBatchCodec.ItemResult i : ack.results()) {
        if (!i.isStored()) {
          return Reply.error(i.errno(), i.reason());
        }
      }
      return Reply.ack();
    } catch (ProtocolException | IllegalStateException e) {
      return Reply.error(ErrorCode.INTERNAL_ERROR.errno(), "unreadable answer");
    } finally {
      b.release();
    }
  }
}
