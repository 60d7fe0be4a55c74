package org.presence.loadtest.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;

/**
 * The Presence device channel ({@code /presence}) for the harness: each virtual device opens a
 * socket through the run's {@link WsConnector}, sends the connect request with its minted
 * assertion and device id, and counts as connected on {@code {"result": true, "session_id": ...}}.
 * Status updates are answered in order ({@code {"result": true}} or an errno); pushed {@code
 * {"notifications": [...]}} frames go to the device's {@link Inbound}, whose stamps give the
 * {@code notify} latency.
 */
public final class PresenceDevices implements DeviceChannel {
  private static final byte[] PUSHED =
      "{\"notifications\"".getBytes(StandardCharsets.US_ASCII);

  private final URI base;
  private final WsConnector connector;

  /** Devices of the node or cluster at {@code base}, connected through {@code connector}. */
  public PresenceDevices(URI base, WsConnector connector) {
    this.base = base;
    this.connector = connector;
  }

  @Override
  public VirtualDevice newDevice(EventLoop loop, Inbound inbound) {
    return new Device(loop, inbound);
  }

  /** Whether a frame is a push (a notifications frame) rather than an answer. */
  static boolean pushed(ByteBuf utf8) {
    if (utf8.readableBytes() < PUSHED.length) {
      return false;
    }
    int at = utf8.readerIndex();
    for (int i = 0; i < PUSHED.length; i++) {
      if (utf8.getByte(at + i) != PUSHED[i]) {
        return false;
      }
    }
    return true;
  }

  private final class Device implements VirtualDevice, WsConnector.Listener {
    private final EventLoop loop;
    private final Inbound inbound;
    private final ArrayDeque<CompletableFuture<DeviceMessage>> waiting = new ArrayDeque<>();
    private WsConnection conn;
    private UUID session;

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
                return request(
                    new DeviceMessage.Connect(identity.assertion(), null, identity.device()));
              })
          .thenAccept(
              answer -> {
                if (answer instanceof DeviceMessage.Connected c) {
                  session = c.sessionId();
                } else if (answer instanceof DeviceMessage.ErrorReply e) {
                  throw ClientException.errno(e.errno(), e.reason());
                } else {
                  throw new ClientException("handshake-failed", "unexpected answer " + answer);
                }
              });
    }

    /** Sends {@code m} and completes with the next answer (answers come in request order). */
    private CompletionStage<DeviceMessage> request(DeviceMessage m) {
      CompletableFuture<DeviceMessage> answer = new CompletableFuture<>();
      waiting.add(answer);
      conn.send(new String(DeviceCodec.toBytes(m), StandardCharsets.UTF_8))
          .addListener(
              f -> {
                if (!f.isSuccess()) {
                  waiting.remove(answer);
                  answer.completeExceptionally(new ClientException("write-failed", "" + f.cause()));
                }
              });
      return answer;
    }

    @Override
    public CompletionStage<Reply> sendStatus(String status, String message) {
      if (!isOpen() || session == null) {
        return CompletableFuture.failedFuture(new ClientException("not-connected", "status"));
      }
      PresenceStatus s =
          PresenceStatus.fromWire(status)
              .orElseThrow(() -> new IllegalArgumentException("status " + status));
      return request(new DeviceMessage.StatusUpdate(session, s, message, null))
          .thenApply(
              a ->
                  a instanceof DeviceMessage.ErrorReply e
                      ? Reply.error(e.errno(), e.reason())
                      : Reply.ack());
    }

    @Override
    public void onText(ByteBuf utf8) {
      if (pushed(utf8)) {
        inbound.frame(utf8);
        return;
      }
      DeviceMessage m;
      try {
        m = DeviceCodec.decodeReply(utf8);
      } catch (ProtocolException e) {
        return;
      }
      CompletableFuture<DeviceMessage> w = waiting.poll();
      if (w != null) {
        w.complete(m);
      }
    }

    @Override
    public void onClosed(boolean byUs, int closeCode, String reason) {
      ClientException gone = new ClientException("closed", "connection closed");
      CompletableFuture<DeviceMessage> w;
      while ((w = waiting.poll()) != null) {
        w.completeExceptionally(gone);
      }
      inbound.closed(!byUs, byUs || closeCode < 0 ? "" : "close " + closeCode);
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
