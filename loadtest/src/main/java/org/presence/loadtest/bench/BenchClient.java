package org.presence.loadtest.bench;

import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.presence.loadtest.presence.DeviceSession;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;
import org.presence.loadtest.transport.WsConnector;

/**
 * The device benchmarks' client: the harness's {@link DeviceSession}s on event loops of their own,
 * each socket from the source address the benchmark names, closed with a reset so that a finished
 * round leaves no ports in TIME_WAIT.
 */
final class BenchClient implements AutoCloseable {
  private final EventLoopGroup group;
  private final WsConnector connector;

  /** A client on {@code threads} event loops (epoll where available). */
  BenchClient(int threads) {
    Transport transport = Transport.best();
    this.group = transport.group(threads, "device-client");
    this.connector =
        new WsConnector(transport, SourceAddresses.any(), Duration.ofSeconds(30))
            .resettingOnClose();
  }

  /** A socket on {@code uri} from {@code local}, upgraded; no session. */
  CompletableFuture<DeviceSession> open(URI uri, InetSocketAddress local) {
    return DeviceSession.open(connector, uri, group.next(), local, DeviceSession.IGNORE)
        .toCompletableFuture();
  }

  /** A socket and a session of device {@code phone} signed in with {@code token}. */
  CompletableFuture<DeviceSession> connect(URI uri, InetSocketAddress local, String token) {
    return DeviceSession.connect(
            connector, uri, group.next(), local, token, "phone", DeviceSession.IGNORE)
        .toCompletableFuture();
  }

  @Override
  public void close() {
    Transport.shutDown(group, Duration.ofSeconds(2)).syncUninterruptibly();
  }
}
