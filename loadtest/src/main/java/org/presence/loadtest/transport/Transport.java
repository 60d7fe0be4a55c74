package org.presence.loadtest.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The Netty transport of the harness and the floor server. {@code auto} (the default) is native
 * epoll where its library loads (Linux), NIO otherwise: epoll keeps a socket cheaper than NIO's
 * selector keys, which matters when one process holds tens of thousands of them. {@code io_uring}
 * submits a loop turn's reads and writes in one system call, which makes each busy socket cheaper
 * to serve (a load generator reading an answer per request on many sockets spends less CPU).
 */
public enum Transport {
  IO_URING(
      "io_uring",
      IoUringIoHandler::newFactory,
      IoUringSocketChannel.class,
      IoUringServerSocketChannel.class),
  EPOLL(
      "epoll",
      EpollIoHandler::newFactory,
      EpollSocketChannel.class,
      EpollServerSocketChannel.class),
  NIO("nio", NioIoHandler::newFactory, NioSocketChannel.class, NioServerSocketChannel.class);

  /** The names {@link #named} takes. */
  public static final String NAMES = "auto, io_uring, epoll or nio";

  private final String wireName;
  private final Supplier<IoHandlerFactory> factory;
  private final Class<? extends SocketChannel> socketChannel;
  private final Class<? extends ServerChannel> serverChannel;

  Transport(
      String wireName,
      Supplier<IoHandlerFactory> factory,
      Class<? extends SocketChannel> socketChannel,
      Class<? extends ServerChannel> serverChannel) {
    this.wireName = wireName;
    this.factory = factory;
    this.socketChannel = socketChannel;
    this.serverChannel = serverChannel;
  }

  /** Epoll when available, else NIO ({@code auto}). */
  public static Transport best() {
    return Epoll.isAvailable() ? EPOLL : NIO;
  }

  /** NIO, whatever the platform. */
  public static Transport nio() {
    return NIO;
  }

  /**
   * The transport {@code name} names ({@code auto}, {@code io_uring}, {@code epoll} or {@code nio},
   * any case; {@code null}: {@code auto}).
   *
   * @throws IllegalArgumentException for another name, or a transport that does not work here (with
   *     its native library's reason)
   */
  public static Transport named(String name) {
    String n = name == null ? "auto" : name.toLowerCase(Locale.ROOT);
    if (n.equals("auto")) {
      return best();
    }
    for (Transport t : values()) {
      if (t.wireName.equals(n)) {
        Throwable why = t.unavailableBecause();
        if (why != null) {
          throw new IllegalArgumentException(
              "the " + n + " transport does not work here: " + why.getMessage(), why);
        }
        return t;
      }
    }
    throw new IllegalArgumentException("unknown transport '" + name + "': must be " + NAMES);
  }

  /** Why this transport does not work here (its native library's failure), or {@code null}. */
  public Throwable unavailableBecause() {
    return switch (this) {
      case IO_URING -> IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
      case EPOLL -> Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
      case NIO -> null;
    };
  }

  /** {@code "io_uring"}, {@code "epoll"} or {@code "nio"}. */
  public String wireName() {
    return wireName;
  }

  /** A group of {@code threads} event loops (0: Netty's default) named {@code prefix-N}. */
  public EventLoopGroup group(int threads, String prefix) {
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(prefix, true), factory.get());
  }

  /**
   * Shuts {@code loops} down, closing the sockets still open on them and releasing what their
   * buffers hold, giving up after {@code timeout}. The 10 ms quiet period is what makes the close
   * certain: with none, Netty 4.2's loop can end without closing its channels when the shutdown
   * begins while it runs its tasks (a leak report under PARANOID detection), as it goes round once
   * more only while the quiet period lasts.
   */
  public static Future<?> shutDown(EventLoopGroup loops, Duration timeout) {
    return loops.shutdownGracefully(10, Math.max(10, timeout.toMillis()), TimeUnit.MILLISECONDS);
  }

  /**
   * A client bootstrap whose socket lives on {@code loop}: this transport's socket class, no Nagle
   * delay, connects given up after {@code connectTimeout}.
   */
  public Bootstrap clientOn(EventLoop loop, Duration connectTimeout) {
    return new Bootstrap()
        .group(loop)
        .channel(socketChannel)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis());
  }

  /** The client socket class. */
  public Class<? extends SocketChannel> socketChannel() {
    return socketChannel;
  }

  /** The server socket class. */
  public Class<? extends ServerChannel> serverChannel() {
    return serverChannel;
  }
}
