package org.presence.gateway.bootstrap;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The node's Netty event loops on one of Netty's transports: io_uring, epoll or NIO. {@code auto}
 * takes the native epoll transport where its library loads (Linux), NIO otherwise. I/O threads are
 * named {@code gw-io-N}, the acceptor {@code gw-accept-N}.
 */
public final class EventLoops {
  /** A Netty transport: its name, its I/O handler and its server channel. */
  public enum Transport {
    IO_URING("io_uring", IoUringIoHandler::newFactory, IoUringServerSocketChannel.class),
    EPOLL("epoll", EpollIoHandler::newFactory, EpollServerSocketChannel.class),
    NIO("nio", NioIoHandler::newFactory, NioServerSocketChannel.class);

    private final String wireName;
    private final Supplier<IoHandlerFactory> factory;
    private final Class<? extends ServerChannel> serverChannel;

    Transport(
        String wireName,
        Supplier<IoHandlerFactory> factory,
        Class<? extends ServerChannel> serverChannel) {
      this.wireName = wireName;
      this.factory = factory;
      this.serverChannel = serverChannel;
    }

    /** As the setting names it: {@code io_uring}, {@code epoll} or {@code nio}. */
    public String wireName() {
      return wireName;
    }

    /** Whether this transport works here; {@link #unavailableBecause} says why not. */
    public boolean available() {
      return switch (this) {
        case IO_URING -> IoUring.isAvailable();
        case EPOLL -> Epoll.isAvailable();
        case NIO -> true;
      };
    }

    /** Why it does not work here (its native library's failure), or {@code null}. */
    public Throwable unavailableBecause() {
      return switch (this) {
        case IO_URING -> IoUring.unavailabilityCause();
        case EPOLL -> Epoll.unavailabilityCause();
        case NIO -> null;
      };
    }

    /**
     * The transport {@code name} names ({@code auto}, {@code io_uring}, {@code epoll}, {@code nio},
     * any case), {@code auto} being epoll where it works and NIO otherwise.
     *
     * @throws IllegalArgumentException for any other name
     */
    public static Transport named(String name) {
      String n = name.toLowerCase(Locale.ROOT);
      if (n.equals("auto")) {
        return EPOLL.available() ? EPOLL : NIO;
      }
      for (Transport t : values()) {
        if (t.wireName.equals(n)) {
          return t;
        }
      }
      throw new IllegalArgumentException("must be auto, io_uring, epoll or nio");
    }
  }

  private final Transport transport;
  private final EventLoopGroup acceptor;
  private final EventLoopGroup io;

  private EventLoops(Transport transport, int ioThreads) {
    this.transport = transport;
    IoHandlerFactory factory = transport.factory.get();
    this.acceptor =
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("gw-accept", true), factory);
    this.io =
        new MultiThreadIoEventLoopGroup(
            ioThreads, new DefaultThreadFactory("gw-io", true), factory);
  }

  /** Event loops with {@code ioThreads} I/O threads (0: Netty's default), epoll or NIO. */
  public static EventLoops create(int ioThreads) {
    return create(Transport.named("auto"), ioThreads);
  }

  /**
   * Event loops on {@code transport} with {@code ioThreads} I/O threads (0: Netty's default).
   *
   * @throws IllegalStateException when the transport does not work here
   */
  public static EventLoops create(Transport transport, int ioThreads) {
    if (!transport.available()) {
      throw new IllegalStateException(
          "the " + transport.wireName() + " transport does not work here",
          transport.unavailableBecause());
    }
    return new EventLoops(transport, ioThreads);
  }

  /** {@code "io_uring"}, {@code "epoll"} or {@code "nio"}. */
  public String transport() {
    return transport.wireName();
  }

  public EventLoopGroup acceptor() {
    return acceptor;
  }

  public EventLoopGroup io() {
    return io;
  }

  /** The server channel class matching the transport. */
  public Class<? extends ServerChannel> serverChannel() {
    return transport.serverChannel;
  }

  /** Stops both groups, waiting at most about {@code timeoutMillis}. */
  public void shutdown(long timeoutMillis) {
    var a =
        acceptor.shutdownGracefully(0, timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    var b = io.shutdownGracefully(0, timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    a.awaitUninterruptibly(timeoutMillis);
    b.awaitUninterruptibly(timeoutMillis);
  }
}
