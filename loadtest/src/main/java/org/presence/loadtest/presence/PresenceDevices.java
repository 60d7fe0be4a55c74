package org.presence.loadtest.presence;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.client.PresenceStatus;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.DeviceChannel;
import org.presence.loadtest.targets.DeviceIdentity;
import org.presence.loadtest.targets.Inbound;
import org.presence.loadtest.targets.Reply;
import org.presence.loadtest.targets.VirtualDevice;
import org.presence.loadtest.transport.Urls;
import org.presence.loadtest.transport.WsConnector;

/**
 * The harness's device client for a Presence target: each {@link VirtualDevice} is a {@link
 * DeviceSession} on {@code /presence}, opened through the run's {@link WsConnector} (its source
 * addresses and timeouts): a connect with the device's assertion, then status frames, each answered
 * in order. Pushed frames ({@code {"notifications": [...]}}, issue 6) and answers nobody waits for
 * (the error before the node closes a session) go to the device's {@link Inbound}; a push never
 * takes the place of an awaited answer.
 */
public final class PresenceDevices implements DeviceChannel {
  private final URI base;
  private final WsConnector connector;

  /** Devices of the node or cluster at {@code base}. */
  public PresenceDevices(URI base, WsConnector connector) {
    this.base = base;
    this.connector = connector;
  }

  @Override
  public VirtualDevice newDevice(EventLoop loop, Inbound inbound) {
    return new Device(loop, inbound);
  }

  private final class Device implements VirtualDevice, DeviceSession.Listener {
    private final EventLoop loop;
    private final Inbound inbound;
    private DeviceSession session;

    Device(EventLoop loop, Inbound inbound) {
      this.loop = loop;
      this.inbound = inbound;
    }

    @Override
    public CompletionStage<Void> connect(DeviceIdentity identity) {
      DeviceSession s = DeviceSession.unopened(this);
      session = s;
      return s.open(connector, Urls.webSocket(base, "/presence"), loop, null)
          .thenCompose(x -> x.connect(identity.assertion(), identity.device()))
          .thenAccept(id -> {});
    }

    @Override
    public void abort() {
      DeviceSession s = session;
      if (s != null) {
        s.abort();
      }
    }

    @Override
    public CompletionStage<Reply> sendStatus(String status, String message) {
      if (!isOpen()) {
        return CompletableFuture.failedFuture(new ClientException("closed", "not connected"));
      }
      PresenceStatus st = PresenceStatus.fromWire(status);
      if (st == null) {
        throw new IllegalArgumentException("status " + status);
      }
      return session.status(st, message);
    }

    @Override
    public void pushed(ByteBuf utf8) {
      inbound.frame(utf8);
    }

    @Override
    public void closed(boolean byUs, int closeCode, String reason) {
      inbound.closed(!byUs, closeCode < 0 ? "" : "close " + closeCode);
    }

    @Override
    public CompletionStage<Void> disconnect() {
      DeviceSession s = session;
      if (s == null) {
        return CompletableFuture.completedFuture(null);
      }
      if (!s.isOpen()) {
        s.abort(); // still opening: give up on it
        return CompletableFuture.completedFuture(null);
      }
      return s.close();
    }

    @Override
    public boolean isOpen() {
      return session != null && session.isOpen();
    }
  }
}
