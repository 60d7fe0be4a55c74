package org.presence.loadtest.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;

/**
 * Presence's device channel ({@code /presence}) for the harness: each {@link VirtualDevice} is one
 * socket opened by the run's {@link WsConnector} on its user's event loop, speaking the device
 * protocol through {@link DeviceCodec}: a connect with the user's assertion and device id, then
 * status frames answered in order with an ack or an errno. Frames the node sends on its own (live
 * notifications) go to the {@link Inbound}.
 */
final class PresenceDevices implements DeviceChannel {
  private final URI base;
  private final WsConnector connector;

  PresenceDevices(URI base, WsConnector connector) {
    this.base = base;
    this.connector = connector;
  }

  @Override
  public VirtualDevice newDevice(EventLoop loop, Inbound inbound) {
    return new Device(loop, inbound);
  }

  private final class Device implements VirtualDevice, WsConnector.Listener {
    private final EventLoop loop;
    private final Inbound inbound;
    private final ArrayDeque<CompletableFuture<DeviceMessage>> pending = new ArrayDeque<>(2);
    private WsConnection conn;
    private UUID session;
    private int lastErrno;

    Device(EventLoop loop, Inbound inbound) {
      this.loop = loop;
      this.inbound = inbound;
    }

    @Override
    public CompletionStage<Void> connect(DeviceIdentity identity) {
      return connector
          .connect(Urls.webSocket(base, "/presence"), loop, this)
          .thenCompose(
              c -> {
                conn = c;
                return request(new Connect(identity.assertion(), null, identity.device()));
              })
          .thenAccept(
              reply -> {
                if (reply instanceof Connected c) {
                  session = c.sessionId();
                } else if (reply instanceof ErrorReply e) {
                  conn.close();
                  throw ClientException.errno(e.errno(), e.reason());
                } else {
                  conn.close();
                  throw new ClientException("handshake-failed", "unexpected answer " + reply);
                }
              });
    }

    private CompletionStage<DeviceMessage> request(DeviceMessage m) {
      CompletableFuture<DeviceMessage> answer = new CompletableFuture<>();
      if (conn == null || !conn.isOpen()) {
        answer.completeExceptionally(new ClientException("not-connected", "closed"));
        return answer;
      }
      pending.add(answer);
      ByteBuf buf = conn.channel().alloc().buffer(128);
      DeviceCodec.encode(m, buf);
      conn.send(buf);
      return answer;
    }

    @Override
    public CompletionStage<Reply> sendStatus(String status, String message) {
      if (session == null || conn == null || !conn.isOpen()) {
        return CompletableFuture.failedFuture(new ClientException("not-connected", "send"));
      }
      PresenceStatus s = PresenceStatus.fromWire(status).orElse(PresenceStatus.ONLINE);
      return request(new StatusUpdate(session, s, message, null))
          .thenApply(
              reply ->
                  reply instanceof ErrorReply e
                      ? Reply.error(e.errno(), e.reason())
                      : Reply.ack());
    }

    @Override
    public void onText(ByteBuf utf8) {
      DeviceMessage m;
      try {
        m = DeviceCodec.decodeReply(utf8.duplicate());
      } catch (ProtocolException | IllegalArgumentException e) {
        m = null;
      }
      CompletableFuture<DeviceMessage> waiting = m == null ? null : pending.poll();
      if (waiting != null) {
        waiting.complete(m);
        return;
      }
      if (m instanceof ErrorReply e) {
        // An error the node sends before it closes the session.
        lastErrno = e.errno();
        return;
      }
      inbound.frame(utf8);
    }

    @Override
    public void onClosed(boolean byUs, int closeCode, String reason) {
      CompletableFuture<DeviceMessage> f;
      while ((f = pending.poll()) != null) {
        f.completeExceptionally(new ClientException("closed-by-server", "closed"));
      }
      if (session != null) {
        // Only a session that was counted as opened is counted as closed.
        String why = lastErrno != 0 ? "errno " + lastErrno : closeCode > 0 ? "close " + closeCode : "";
        inbound.closed(!byUs, why);
      }
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
