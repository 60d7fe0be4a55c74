package org.presence.loadtest.transport;

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
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The Netty transport of the harness and the floor server: native epoll where its library loads
 * (Linux), NIO otherwise. Epoll keeps a socket cheaper than NIO's selector keys, which matters when
 * one process holds tens of thousands of them.
 */
public final class Transport {
  private final boolean epoll;

  private Transport(boolean epoll) {
    this.epoll = epoll;
  }

  /** Epoll when available. */
  public static Transport best() {
    return new Transport(Epoll.isAvailable());
  }

  /** NIO, whatever the platform. */
  public static Transport nio() {
    return new Transport(false);
  }

  /** {@code "epoll"} or {@code "nio"}. */
  public String name() {
    return epoll ? "epoll" : "nio";
  }

  /** A group of {@code threads} event loops (0: Netty's default) named {@code prefix-N}. */
  public EventLoopGroup group(int threads, String prefix) {
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(prefix, true), factory);
  }

  /** The client socket class. */
  public Class<? extends SocketChannel> socketChannel() {
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /** The server socket class. */
  public Class<? extends ServerChannel> serverChannel() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }
}
