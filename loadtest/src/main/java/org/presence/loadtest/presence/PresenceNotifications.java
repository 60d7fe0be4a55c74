package org.presence.loadtest.presence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.NotificationApi;
import org.presence.loadtest.targets.Reply;
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
  private final HttpClient http;
  private final Supplier<PresenceSetup.Setup> setup;

  /** Posts to the node or cluster at {@code base} as the applications of {@code setup}. */
  public PresenceNotifications(URI base, Supplier<PresenceSetup.Setup> setup) {
    this.base = base;
    this.setup = setup;
    // A direct executor: the client completes each exchange on its own selector thread instead of
    // handing every step to a pooled thread (thread wake-ups were much of the harness's CPU per
    // post). Nothing run there blocks: the body is a byte array and the answer is handed to the
    // caller's event loop.
    this.http =
        HttpClient.newBuilder()
            .executor(Runnable::run)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
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
    ByteBuf body = Unpooled.buffer(64 + 120 * items.size());
    byte[] bytes;
    try {
      NotificationBatchCodec.encodeBatch(items, body);
      bytes = new byte[body.readableBytes()];
      body.readBytes(bytes);
    } finally {
      body.release();
    }
    HttpRequest req =
        HttpRequest.newBuilder(Urls.http(base, "/" + a.id() + "/notification"))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + a.key())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
            .build();
    CompletableFuture<Reply> done = new CompletableFuture<>();
    http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray())
        .whenComplete(
            (r, e) -> {
              Reply reply;
              Throwable failure = null;
              if (e != null) {
                failure =
                    new ClientException(ClientException.kindOf(e), String.valueOf(e.getMessage()));
                reply = null;
              } else {
                reply = reply(r);
              }
              Throwable f = failure;
              loop.execute(
                  () -> {
                    if (f != null) {
                      done.completeExceptionally(f);
                    } else {
                      done.complete(reply);
                    }
                  });
            });
    return done;
  }

  /** The harness's reading of an answer. */
  static Reply reply(HttpResponse<byte[]> r) {
    ByteBuf b = Unpooled.wrappedBuffer(r.body());
    try {
      if (r.statusCode() != 200) {
        JsonNode err = json(new String(r.body(), StandardCharsets.UTF_8));
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
