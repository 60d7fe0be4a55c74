package org.presence.loadtest.presence;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.presence.loadtest.targets.AppChannel;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.Inbound;
import org.presence.loadtest.targets.VirtualApp;
import org.presence.loadtest.transport.Urls;
import org.presence.loadtest.transport.WsConnection;
import org.presence.loadtest.transport.WsConnector;

/**
 * Presence's app update channel ({@code /<appid>}), or with {@code --app-transport stream} its
 * stream ({@code GET /<appid>/presence.json}, {@link StreamApp}), for the harness: app number
 * {@code n} of the run connects as the {@code n}-th application the coordinator set up ({@link
 * PresenceSetup}), sends its key frame and is subscribed on {@code {"result": true}}. Update lists
 * go to the {@link Inbound}, which finds the stamps in their {@code message} fields (one latency
 * per update); snapshot frames, which repeat earlier stamps, are not passed on.
 */
public final class PresenceApps implements AppChannel {
  private static final byte[] SNAPSHOT = "{\"snapshot\"".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern ERRNO = Pattern.compile("\"errno\":(-?\\d+)");

  private final URI base;
  private final boolean overStream;
  private final WsConnector connector;
  private final Supplier<PresenceSetup.Setup> setup;
  private volatile HttpClient http;

  public PresenceApps(
      URI base, boolean overStream, WsConnector connector, Supplier<PresenceSetup.Setup> setup) {
    this.base = base;
    this.overStream = overStream;
    this.connector = connector;
    this.setup = setup;
  }

  @Override
  public VirtualApp newApp(EventLoop loop, Inbound inbound) {
    return overStream ? new StreamApp(loop, inbound) : new App(loop, inbound);
  }

  private PresenceSetup.AppKey key(int app) {
    List<PresenceSetup.AppKey> all = setup.get().apps();
    return all.get(Math.floorMod(app, all.size()));
  }

  private HttpClient http() {
    HttpClient h = http;
    if (h == null) {
      synchronized (this) {
        h = http;
        if (h == null) {
          h =
              HttpClient.newBuilder()
                  .version(HttpClient.Version.HTTP_1_1)
                  .connectTimeout(Duration.ofSeconds(10))
                  .build();
          http = h;
        }
      }
    }
    return h;
  }

  private static boolean startsWith(ByteBuf buf, byte[] prefix) {
    if (buf.readableBytes() < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (buf.getByte(buf.readerIndex() + i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private final class App implements VirtualApp, WsConnector.Listener {
    private final EventLoop loop;
    private final Inbound inbound;
    private final CompletableFuture<Void> subscribed = new CompletableFuture<>();
    private WsConnection conn;
    private CompletableFuture<WsConnection> opening;
    private int lastErrno;

    App(EventLoop loop, Inbound inbound) {
      this.loop = loop;
      this.inbound = inbound;
    }

    @Override
    public CompletionStage<Void> subscribe(int app) {
      PresenceSetup.AppKey key = key(app);
      opening =
          connector.connect(Urls.webSocket(base, "/" + key.id()), loop, this).toCompletableFuture();
      return opening.thenCompose(
          c -> {
            conn = c;
            c.send("{\"key\":\"" + key.key() + "\"}");
            return subscribed;
          });
    }

    @Override
    public void onText(ByteBuf utf8) {
      if (!subscribed.isDone()) {
        String text = utf8.toString(StandardCharsets.UTF_8);
        if (text.contains("\"result\":true")) {
          subscribed.complete(null);
        } else {
          Matcher m = ERRNO.matcher(text);
          lastErrno = m.find() ? Integer.parseInt(m.group(1)) : 0;
          subscribed.completeExceptionally(
              lastErrno != 0
                  ? ClientException.errno(lastErrno, text)
                  : new ClientException("handshake-failed", text));
        }
        return;
      }
      if (!startsWith(utf8, SNAPSHOT)) {
        inbound.frame(utf8);
      }
    }

    @Override
    public void onClosed(boolean byUs, int closeCode, String reason) {
      if (subscribed.completeExceptionally(
          new ClientException("closed-by-server", "closed before subscribing"))) {
        return;
      }
      String why =
          lastErrno != 0 ? "errno " + lastErrno : closeCode > 0 ? "close " + closeCode : "";
      inbound.closed(!byUs, why);
    }

    @Override
    public CompletionStage<Void> disconnect() {
      return conn == null ? CompletableFuture.completedFuture(null) : conn.close();
    }

    @Override
    public void abort() {
      if (opening != null) {
        opening.completeExceptionally(new ClientException("unfinished", "given up"));
      }
      subscribed.completeExceptionally(new ClientException("unfinished", "given up"));
      if (conn != null) {
        conn.channel().close();
      }
    }

    @Override
    public boolean isOpen() {
      return conn != null && conn.isOpen();
    }
  }

  /**
   * An app on Presence's stream ({@code GET /<appid>/presence.json} with the key as a bearer
   * token): one JSON document per line, the same frames as the update channel. Subscribed once the
   * answer's status is 200; lines are handed to the {@link Inbound} on the app's event loop,
   * snapshot frames and keepalive blank lines left out.
   */
  private final class StreamApp implements VirtualApp {
    private final EventLoop loop;
    private final Inbound inbound;
    private volatile Flow.Subscription lines;
    private volatile boolean open;
    private volatile boolean closedByUs;

    StreamApp(EventLoop loop, Inbound inbound) {
      this.loop = loop;
      this.inbound = inbound;
    }

    @Override
    public CompletionStage<Void> subscribe(int app) {
      PresenceSetup.AppKey key = key(app);
      CompletableFuture<Void> subscribed = new CompletableFuture<>();
      HttpRequest req =
          HttpRequest.newBuilder(Urls.http(base, "/" + key.id() + "/presence.json"))
              .header("Authorization", "Bearer " + key.key())
              .GET()
              .build();
      HttpResponse.BodyHandler<String> handler =
          info -> {
            if (info.statusCode() != 200) {
              return HttpResponse.BodySubscribers.ofString(StandardCharsets.UTF_8);
            }
            open = true;
            loop.execute(() -> subscribed.complete(null));
            return HttpResponse.BodySubscribers.fromLineSubscriber(
                new Lines(), l -> "", StandardCharsets.UTF_8, "\n");
          };
      http()
          .sendAsync(req, handler)
          .whenComplete(
              (r, e) -> {
                boolean wasOpen = open;
                open = false;
                loop.execute(
                    () -> {
                      if (e != null) {
                        if (!subscribed.completeExceptionally(
                                new ClientException(
                                    ClientException.kindOf(e), String.valueOf(e.getMessage())))
                            && !closedByUs) {
                          inbound.closed(true, "stream failed");
                        }
                      } else if (r.statusCode() != 200) {
                        Matcher m = ERRNO.matcher(r.body());
                        subscribed.completeExceptionally(
                            m.find()
                                ? ClientException.errno(Integer.parseInt(m.group(1)), r.body())
                                : new ClientException("http-" + r.statusCode(), r.body()));
                      } else if (wasOpen && !closedByUs) {
                        inbound.closed(true, "stream ended");
                      }
                    });
              });
      return subscribed;
    }

    /** The stream's lines, each a frame. */
    private final class Lines implements Flow.Subscriber<String> {
      @Override
      public void onSubscribe(Flow.Subscription s) {
        lines = s;
        if (closedByUs) {
          s.cancel();
        } else {
          s.request(Long.MAX_VALUE);
        }
      }

      @Override
      public void onNext(String line) {
        if (line.isBlank() || line.startsWith("{\"snapshot\"")) {
          return;
        }
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        loop.execute(
            () -> {
              ByteBuf b = Unpooled.wrappedBuffer(bytes);
              try {
                inbound.frame(b);
              } finally {
                b.release();
              }
            });
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onComplete() {}
    }

    @Override
    public CompletionStage<Void> disconnect() {
      boolean wasOpen = open;
      closedByUs = true;
      Flow.Subscription s = lines;
      if (s != null) {
        s.cancel();
      }
      open = false;
      if (!wasOpen) {
        return CompletableFuture.completedFuture(null);
      }
      // The JDK client says nothing when a cancelled stream ends: the close is told here, once.
      CompletableFuture<Void> told = new CompletableFuture<>();
      loop.execute(
          () -> {
            inbound.closed(false, "");
            told.complete(null);
          });
      return told;
    }

    @Override
    public boolean isOpen() {
      return open;
    }
  }
}
