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
import org.presence.protocol.device.DeviceReplyCodec;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;

/**
 * The harness's device client for a Presence target: each {@link VirtualDevice} holds one socket on
 * {@code /presence}, opened through the run's {@link WsConnector} (its source addresses and
 * timeouts), and speaks the device protocol with {@link DeviceCodec}: a connect with the device's
 * assertion, then status frames, each answered in order. Pushed {@code {"notifications": [...]}}
 * frames (issue 6) and answers nobody waits for (the error before the node closes a session) go to
 * the device's {@link Inbound}; a push never takes the place of an awaited answer.
 */
public final class PresenceDevices implements DeviceChannel {
  private static final byte[] PUSHED =
      "{\"notifications\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

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

  /** Whether a frame is a push of live notifications rather than an answer. */
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
    private final ArrayDeque<CompletableFuture<DeviceMessage>> pending = new ArrayDeque<>(2);
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
                return request(new Connect(identity.assertion(), null, identity.device()));
              })
          .thenAccept(
              reply -> {
                if (reply instanceof Connected c) {
                  session = c.sessionId();
                  return;
                }
                if (conn != null) {
                  conn.close();
                }
                throw failure(reply);
              });
    }

    @Override
    public CompletionStage<Reply> sendStatus(String status, String message) {
      if (!isOpen() || session == null) {
        return CompletableFuture.failedFuture(new ClientException("closed", "not connected"));
      }
      PresenceStatus st =
          PresenceStatus.fromWire(status)
              .orElseThrow(() -> new IllegalArgumentException("status " + status));
      return request(new StatusUpdate(session, st, message, null))
          .thenApply(
              reply ->
                  reply instanceof ErrorReply e ? Reply.error(e.errno(), e.reason()) : Reply.ack());
    }

    private CompletionStage<DeviceMessage> request(DeviceMessage message) {
      CompletableFuture<DeviceMessage> answer = new CompletableFuture<>();
      ByteBuf frame = conn.channel().alloc().buffer(256);
      DeviceCodec.encode(message, frame);
      pending.add(answer);
      conn.send(frame)
          .addListener(
              f -> {
                if (!f.isSuccess() && pending.remove(answer)) {
                  answer.completeExceptionally(new ClientException("write-failed", "" + f.cause()));
                }
              });
      return answer;
    }

    private ClientException failure(DeviceMessage reply) {
      return reply instanceof ErrorReply e
          ? ClientException.errno(e.errno(), e.reason())
          : new ClientException("unexpected-answer", String.valueOf(reply));
    }

    @Override
    public void onText(ByteBuf utf8) {
      if (pushed(utf8)) {
        inbound.frame(utf8);
        return;
      }
      CompletableFuture<DeviceMessage> waiting = pending.poll();
      if (waiting == null) {
        inbound.frame(utf8);
        return;
      }
      try {
        waiting.complete(DeviceReplyCodec.decode(utf8));
      } catch (ProtocolException e) {
        waiting.completeExceptionally(new ClientException("bad-answer", e.getMessage()));
      }
    }

    @Override
    public void onClosed(boolean byUs, int closeCode, String reason) {
      CompletableFuture<DeviceMessage> f;
      while ((f = pending.poll()) != null) {
        f.completeExceptionally(new ClientException("closed", reason));
      }
      inbound.closed(!byUs, closeCode < 0 ? "" : "close " + closeCode);
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
