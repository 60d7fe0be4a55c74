package org.presence.loadtest.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Presence's app update channel ({@code /<appid>}) for the harness: app number {@code n} of the
 * run connects as the {@code n}-th application the coordinator set up ({@link PresenceSetup}),
 * sends its key frame and is subscribed on {@code {"result": true}}. Update lists go to the {@link
 * Inbound}, which finds the stamps in their {@code message} fields (one latency per update);
 * snapshot frames, which repeat earlier stamps, are not passed on.
 */
final class PresenceApps implements AppChannel {
  private static final byte[] SNAPSHOT = "{\"snapshot\"".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern ERRNO = Pattern.compile("\"errno\":(-?\\d+)");

  private final URI base;
  private final WsConnector connector;
  private final Supplier<PresenceSetup.Setup> setup;

  PresenceApps(URI base, WsConnector connector, Supplier<PresenceSetup.Setup> setup) {
    this.base = base;
    this.connector = connector;
    this.setup = setup;
  }

  @Override
  public VirtualApp newApp(EventLoop loop, Inbound inbound) {
    return new App(loop, inbound);
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
    private int lastErrno;

    App(EventLoop loop, Inbound inbound) {
      this.loop = loop;
      this.inbound = inbound;
    }

    @Override
    public CompletionStage<Void> subscribe(int app) {
      List<PresenceSetup.AppKey> all = setup.get().apps();
      PresenceSetup.AppKey key = all.get(Math.floorMod(app, all.size()));
      return connector
          .connect(Urls.webSocket(base, "/" + key.id()), loop, this)
          .thenCompose(
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
      String why = lastErrno != 0 ? "errno " + lastErrno : closeCode > 0 ? "close " + closeCode : "";
      inbound.closed(!byUs, why);
    }

    @Override
    public CompletionStage<Void> disconnect() {
      return conn == null ? CompletableFuture.completedFuture(null) : conn.close();
    }

    @Override
    public boolean isOpen() {
      return conn != null && conn.isOpen();
    }
  }
}
