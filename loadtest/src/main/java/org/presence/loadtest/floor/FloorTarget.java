package org.presence.loadtest.floor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.loadtest.probe.ServerMemory;
import org.presence.loadtest.probe.ServerProbe;
import org.presence.loadtest.targets.AppChannel;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.DeviceChannel;
import org.presence.loadtest.targets.DeviceIdentity;
import org.presence.loadtest.targets.Inbound;
import org.presence.loadtest.targets.NotificationApi;
import org.presence.loadtest.targets.Reply;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.targets.VirtualApp;
import org.presence.loadtest.targets.VirtualDevice;
import org.presence.loadtest.transport.Urls;
import org.presence.loadtest.transport.WsConnection;
import org.presence.loadtest.transport.WsConnector;

/**
 * The floor ({@link org.presence.loadtest.floor.FloorServer}) as a target. A device opens {@code
 * /relay/<app>/pub} and sends device-like status frames that the floor relays, unchanged, to every
 * socket on {@code /relay/<app>/sub}; an app opens that. There are no session frames; a device is
 * connected once upgraded. Without acks (target {@code floor}) a send is done once written; with
 * them (target {@code floor-acked}) a device opens {@code /relay/<app>/pub-ack}, where the floor
 * answers each frame as a Presence node answers a status, and a send is done when its answer
 * arrives, as a Presence device's is.
 */
public final class FloorTarget implements Target {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final URI base;
  private final WsConnector connector;
  private final boolean acks;

  /**
   * The floor at {@code base} (http:// or ws://), reached through {@code connector}; {@code acks}:
   * whether it answers each device frame.
   */
  public FloorTarget(URI base, WsConnector connector, boolean acks) {
    this.base = base;
    this.connector = connector;
    this.acks = acks;
  }

  @Override
  public String name() {
    return acks ? "floor-acked" : "floor";
  }

  @Override
  public URI baseUrl() {
    return base;
  }

  @Override
  public Optional<DeviceChannel> devices() {
    return Optional.of(FloorDevice::new);
  }

  @Override
  public Optional<AppChannel> apps() {
    return Optional.of(FloorApp::new);
  }

  @Override
  public Optional<NotificationApi> notifications() {
    return Optional.empty();
  }

  @Override
  public boolean needsAssertions() {
    return false;
  }

  @Override
  public ServerProbe probe() {
    return this::stats;
  }

  @Override
  public void close() {}

  private URI ws(String path) {
    return Urls.webSocket(base, path);
  }

  private Optional<ServerMemory> stats(boolean fullGc) {
    URI uri = Urls.http(base, "/__floor__/stats" + (fullGc ? "?gc=1" : ""));
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
                  HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return Optional.empty();
      }
      JsonNode n = MAPPER.readTree(r.body());
      return Optional.of(
          new ServerMemory(
              n.path("heap_used").asLong(-1),
              n.path("after_full_gc").asBoolean(false),
              n.path("direct_used").asLong(-1),
              n.path("rss").asLong(-1),
              n.path("connections").asLong(-1)));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Base for the two floor clients: one socket, inbound frames to an {@link Inbound}. */
  private abstract class FloorSocket implements WsConnector.Listener {
    final EventLoop loop;
    final Inbound inbound;
    WsConnection conn;

    FloorSocket(EventLoop loop, Inbound inbound) {
      this.loop = loop;
      this.inbound = inbound;
    }

    CompletableFuture<WsConnection> opening;

    CompletionStage<Void> open(String path) {
      opening = connector.connect(ws(path), loop, this).toCompletableFuture();
      return opening.thenAccept(
          c -> {
            conn = c;
          });
    }

    @Override
    public void onText(ByteBuf utf8) {
      inbound.frame(utf8);
    }

    @Override
    public void onClosed(boolean byUs, int closeCode, String reason) {
      inbound.closed(!byUs, closeCode < 0 ? "" : "close " + closeCode);
    }

    public CompletionStage<Void> disconnect() {
      return conn == null ? CompletableFuture.completedFuture(null) : conn.close();
    }

    public void abort() {
      if (opening != null) {
        opening.completeExceptionally(new ClientException("unfinished", "given up"));
      }
      if (conn != null) {
        conn.channel().close();
      }
    }

    public boolean isOpen() {
      return conn != null && conn.isOpen();
    }
  }

  private final class FloorDevice extends FloorSocket implements VirtualDevice {
    /** Sends waiting for their answers, in order (with acks only; on the device's event loop). */
    private final ArrayDeque<CompletableFuture<Reply>> answers = new ArrayDeque<>(2);

    private String sessionId = "";

    FloorDevice(EventLoop loop, Inbound inbound) {
      super(loop, inbound);
    }

    @Override
    public CompletionStage<Void> connect(DeviceIdentity identity) {
      sessionId = "floor-" + identity.user();
      return open("/relay/" + identity.app() + (acks ? "/pub-ack" : "/pub"));
    }

    @Override
    public void onText(ByteBuf utf8) {
      CompletableFuture<Reply> waiting = answers.poll();
      if (waiting != null) {
        waiting.complete(Reply.ack());
      } else {
        super.onText(utf8);
      }
    }

    @Override
    public void onClosed(boolean byUs, int closeCode, String reason) {
      CompletableFuture<Reply> waiting;
      while ((waiting = answers.poll()) != null) {
        waiting.completeExceptionally(new ClientException("closed", reason));
      }
      super.onClosed(byUs, closeCode, reason);
    }

    @Override
    public CompletionStage<Reply> sendStatus(String status, String message) {
      if (!isOpen()) {
        return CompletableFuture.failedFuture(new ClientException("closed", "not connected"));
      }
      // The shape of a Presence status frame, so the floor relays a frame of realistic size.
      String frame =
          "{\"type\":\"status\",\"session_id\":\""
              + sessionId
              + "\",\"status\":\""
              + status
              + "\",\"message\":\""
              + message
              + "\"}";
      CompletableFuture<Reply> done = new CompletableFuture<>();
      if (acks) {
        if (loop.inEventLoop()) {
          sendAcked(frame, done);
        } else {
          loop.execute(() -> sendAcked(frame, done));
        }
        return done;
      }
      conn.send(frame)
          .addListener(
              f -> {
                if (f.isSuccess()) {
                  done.complete(Reply.written());
                } else {
                  done.completeExceptionally(new ClientException("write-failed", "" + f.cause()));
                }
              });
      return done;
    }

    private void sendAcked(String frame, CompletableFuture<Reply> done) {
      answers.add(done);
      conn.send(frame)
          .addListener(
              f -> {
                if (!f.isSuccess() && answers.remove(done)) {
                  done.completeExceptionally(new ClientException("write-failed", "" + f.cause()));
                }
              });
    }
  }

  private final class FloorApp extends FloorSocket implements VirtualApp {
    FloorApp(EventLoop loop, Inbound inbound) {
      super(loop, inbound);
    }

    @Override
    public CompletionStage<Void> subscribe(int app) {
      return open("/relay/" + app + "/sub");
    }
  }
}
