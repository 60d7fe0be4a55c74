package org.presence.gateway.testing;

import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.presence.gateway.connection.Connections;

/**
 * Counts the bytes the node's end of a connection has read, at one place in its pipeline: for a
 * test that must give the node its input in two reads. It sends the first part, waits until the
 * node has read it ({@link #awaitBytes}), then sends the rest. A pause between the two writes does
 * not do it: on a busy machine the node may not read before the second write has come, and both
 * parts then arrive in one read.
 */
public final class ReadCounter extends ChannelInboundHandlerAdapter {
  private static final String NAME = "test-read-counter";
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final AtomicLong bytes = new AtomicLong();

  private ReadCounter() {}

  /**
   * Puts a counter in the pipeline of the node's end of the connection from {@code client}, just
   * before its handler {@code name} (what that handler reads, so after any TLS: plaintext).
   */
  public static ReadCounter before(Connections connections, SocketAddress client, String name) {
    ReadCounter counter = new ReadCounter();
    Channel ch = served(connections, client);
    onLoop(ch, () -> ch.pipeline().addBefore(name, NAME, counter));
    return counter;
  }

  /** Puts a counter first in that pipeline: what is read from the socket. */
  public static ReadCounter first(Connections connections, SocketAddress client) {
    ReadCounter counter = new ReadCounter();
    Channel ch = served(connections, client);
    onLoop(ch, () -> ch.pipeline().addFirst(NAME, counter));
    return counter;
  }

  /** Waits until at least {@code n} bytes have been read past the counter since it was put in. */
  public void awaitBytes(long n) {
    await().atMost(WAIT).until(() -> bytes.get() >= n);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf b) {
      bytes.addAndGet(b.readableBytes());
    }
    ctx.fireChannelRead(msg);
  }

  private static Channel served(Connections connections, SocketAddress client) {
    Channel[] found = new Channel[1];
    await().atMost(WAIT).until(() -> (found[0] = connections.find(client)) != null);
    return found[0];
  }

  /**
   * Changes the pipeline on the connection's event loop, and waits: a handler added from another
   * thread may be passed over until its event loop has run its {@code handlerAdded}.
   */
  private static void onLoop(Channel ch, Runnable change) {
    try {
      ch.eventLoop().submit(change).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("cannot change the pipeline of " + ch, e);
    }
  }
}
