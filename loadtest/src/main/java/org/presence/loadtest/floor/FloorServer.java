package org.presence.loadtest.floor;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.presence.loadtest.transport.Transport;

/**
 * The floor: a bare Netty WebSocket server that upgrades, holds and relays, and does nothing else,
 * so that a Presence node's density and throughput can be read as a ratio to it in the same run on
 * the same machine.
 *
 * <ul>
 *   <li>{@code GET /hold} (upgrade): held idle; frames are dropped.
 *   <li>{@code GET /relay/<channel>/pub} (upgrade): each text frame is written, unchanged, to every
 *       socket on {@code /relay/<channel>/sub} (a device-like frame in, a subscriber frame out).
 *   <li>{@code GET /relay/<channel>/pub-ack} (upgrade): the same, and each frame is answered with
 *       the bytes of a Presence node's ack, {@code {"result":true}}, the answers of one read burst
 *       flushed together (a Presence device's status is answered; a bare relay's frame is not).
 *   <li>{@code GET /relay/<channel>/sub} (upgrade): receives the channel's frames.
 *   <li>{@code GET /__floor__/stats[?gc=1]}: open sockets, frames relayed, heap in use (after a
 *       full GC when asked), direct memory and RSS, as JSON.
 * </ul>
 *
 * <p>After the upgrade a socket's pipeline holds only Netty's WebSocket decoder and encoder and one
 * shared handler: the least a Netty WebSocket server can hold per socket.
 */
public final class FloorServer implements AutoCloseable {
  private final EventLoopGroup boss;
  private final EventLoopGroup io;
  private final ExecutorService statsExecutor;
  private final Channel server;
  private final FloorState state;

  private FloorServer(
      EventLoopGroup boss,
      EventLoopGroup io,
      ExecutorService statsExecutor,
      Channel server,
      FloorState state) {
    this.boss = boss;
    this.io = io;
    this.statsExecutor = statsExecutor;
    this.server = server;
    this.state = state;
  }

  /**
   * Starts a floor on {@code host:port} (0: any free port) with {@code ioThreads} I/O threads (0:
   * Netty's default).
   */
  public static FloorServer start(String host, int port, int ioThreads)
      throws InterruptedException {
    return start(host, port, ioThreads, Transport.best());
  }

  /** Starts a floor as {@link #start(String, int, int)} does, its sockets on {@code transport}. */
  public static FloorServer start(String host, int port, int ioThreads, Transport transport)
      throws InterruptedException {
    EventLoopGroup boss = transport.group(1, "floor-accept");
    EventLoopGroup io = transport.group(ioThreads, "floor-io");
    ExecutorService statsExecutor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "floor-stats");
              t.setDaemon(true);
              return t;
            });
    FloorState state = new FloorState();
    FloorHttpHandler http = new FloorHttpHandler(state, statsExecutor);
    try {
      Channel server =
          new ServerBootstrap()
              .group(boss, io)
              .channel(transport.serverChannel())
              .option(ChannelOption.SO_BACKLOG, 4096)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      ChannelPipeline p = ch.pipeline();
                      p.addLast(FloorHttpHandler.CODEC, new HttpServerCodec());
                      p.addLast(FloorHttpHandler.AGGREGATOR, new HttpObjectAggregator(8192));
                      p.addLast(FloorHttpHandler.NAME, http);
                    }
                  })
              .bind(host, port)
              .sync()
              .channel();
      return new FloorServer(boss, io, statsExecutor, server, state);
    } catch (InterruptedException | RuntimeException e) {
      Transport.shutDown(boss, Duration.ofSeconds(1));
      Transport.shutDown(io, Duration.ofSeconds(1));
      statsExecutor.shutdownNow();
      throw e;
    }
  }

  /** The port it listens on. */
  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** The address it listens on. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** Open WebSockets. */
  public long connections() {
    return state.connections();
  }

  /** Frames relayed in and out so far. */
  public FloorState state() {
    return state;
  }

  /** Stops listening and closes every socket. */
  @Override
  public void close() {
    server.close().awaitUninterruptibly(5_000);
    Transport.shutDown(io, Duration.ofSeconds(2)).awaitUninterruptibly(5_000);
    Transport.shutDown(boss, Duration.ofSeconds(2)).awaitUninterruptibly(5_000);
    statsExecutor.shutdownNow();
  }
}
