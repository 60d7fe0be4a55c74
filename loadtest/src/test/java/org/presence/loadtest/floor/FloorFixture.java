package org.presence.loadtest.floor;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;
import org.presence.loadtest.transport.WsConnection;
import org.presence.loadtest.transport.WsConnector;

/**
 * A floor server on loopback, and the harness's sockets to reach it, for each test of a class that
 * registers it ({@code @RegisterExtension}); stopped after the test.
 */
public final class FloorFixture implements BeforeEachCallback, AfterEachCallback {
  private final SourceAddresses sources;
  private final Transport transport;
  private FloorServer floor;
  private EventLoopGroup loops;
  private WsConnector connector;

  /**
   * Sockets bound in turn to {@code sources}, the floor's and the test's on the default transport.
   */
  public FloorFixture(SourceAddresses sources) {
    this(sources, Transport.best());
  }

  /** Sockets bound in turn to {@code sources}, the floor's and the test's on {@code transport}. */
  public FloorFixture(SourceAddresses sources, Transport transport) {
    this.sources = sources;
    this.transport = transport;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    floor = FloorServer.start("127.0.0.1", 0, 1, transport);
    loops = transport.group(1, "test-io");
    connector = new WsConnector(transport, sources, Duration.ofSeconds(5));
  }

  @Override
  public void afterEach(ExtensionContext context) {
    Transport.shutDown(loops, Duration.ofSeconds(1)).awaitUninterruptibly();
    floor.close();
  }

  public FloorServer floor() {
    return floor;
  }

  /** The event loop of the test's sockets (there is one). */
  public EventLoop loop() {
    return loops.next();
  }

  public WsConnector connector() {
    return connector;
  }

  /** The ws:// URL of {@code path} on the floor. */
  public URI ws(String path) {
    return URI.create("ws://127.0.0.1:" + floor.port() + path);
  }

  /**
   * Opens a socket to {@code path} on the floor, its frames and close going to {@code frames} and
   * {@code closes} ({@link #collect}); waits at most 5 s for the upgrade.
   */
  public WsConnection open(String path, List<String> frames, List<String> closes) throws Exception {
    return connector
        .connect(ws(path), loop(), collect(frames, closes))
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  /** A listener that adds the text frames to {@code frames} and each close to {@code closes}. */
  public static WsConnector.Listener collect(List<String> frames, List<String> closes) {
    return new WsConnector.Listener() {
      @Override
      public void onText(ByteBuf utf8) {
        frames.add(utf8.toString(StandardCharsets.UTF_8));
      }

      @Override
      public void onClosed(boolean byUs, int closeCode, String reason) {
        closes.add(byUs + " " + closeCode);
      }
    };
  }
}
