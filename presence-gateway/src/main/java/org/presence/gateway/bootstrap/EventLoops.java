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
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The node's Netty event loops: the native epoll transport where its library loads (Linux), NIO
 * otherwise. I/O threads are named {@code gw-io-N}, the acceptor {@code gw-accept-N}.
 */
public final class EventLoops {
  private final boolean epoll;
  private final EventLoopGroup acceptor;
  private final EventLoopGroup io;

  private EventLoops(boolean epoll, int ioThreads) {
    this.epoll = epoll;
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.acceptor =
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("gw-accept", true), factory);
    this.io =
        new MultiThreadIoEventLoopGroup(
            ioThreads, new DefaultThreadFactory("gw-io", true), factory);
  }

  /** Event loops with {@code ioThreads} I/O threads (0: Netty's default). */
  public static EventLoops create(int ioThreads) {
    return new EventLoops(Epoll.isAvailable(), ioThreads);
  }

  /** {@code "epoll"} or {@code "nio"}. */
  public String transport() {
    return epoll ? "epoll" : "nio";
  }

  public EventLoopGroup acceptor() {
    return acceptor;
  }

  public EventLoopGroup io() {
    return io;
  }

  /** The server channel class matching the transport. */
  public Class<? extends ServerChannel> serverChannel() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
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
