package org.presence.gateway.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * A device for tests: a {@link WsClient} on {@code /presence} that speaks the device protocol
 * through {@link DeviceCodec}.
 */
public final class DeviceTestClient implements AutoCloseable {
  /** How long a test waits for an answer. */
  public static final Duration ANSWER = Duration.ofSeconds(10);

  private final WsClient ws;
  private UUID session;

  private DeviceTestClient(WsClient ws) {
    this.ws = ws;
  }

  /** A socket on {@code node}'s device channel, no session yet. */
  public static DeviceTestClient open(TestNode node) {
    return new DeviceTestClient(WsClient.connect(node.wsUri("/presence")));
  }

  /** A socket at {@code uri}. */
  public static DeviceTestClient open(URI uri) {
    return new DeviceTestClient(WsClient.connect(uri));
  }

  /** Opens a session; fails the test unless the server answers with a session id. */
  public static DeviceTestClient connected(
      TestNode node, String token, ApplicationIds apps, String device) {
    DeviceTestClient c = open(node);
    DeviceMessage reply = c.request(new Connect(token, apps, device));
    if (!(reply instanceof Connected)) {
      c.close();
      throw new AssertionError("connect refused: " + reply);
    }
    return c;
  }

  /** The session id, once connected. */
  public UUID session() {
    return session;
  }

  /** Sends {@code message} and returns the answer (remembering a session id). */
  public DeviceMessage request(DeviceMessage message) {
    send(message);
    return reply();
  }

  /** Sends {@code message}. */
  public void send(DeviceMessage message) {
    ws.send(new String(DeviceCodec.toBytes(message), StandardCharsets.UTF_8));
  }

  /** Sends raw text. */
  public void sendText(String text) {
    ws.send(text);
  }

  /** Sends a status update of this session and returns the answer. */
  public DeviceMessage status(PresenceStatus status, String message) {
    return request(new StatusUpdate(session, status, message, null));
  }

  /** Sends a status update with its own application ids and returns the answer. */
  public DeviceMessage status(PresenceStatus status, String message, ApplicationIds apps) {
    return request(new StatusUpdate(session, status, message, apps));
  }

  /** The next answer, decoded; fails the test when none comes. */
  public DeviceMessage reply() {
    String text;
    try {
      text = ws.next(ANSWER);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    if (text == null) {
      throw new AssertionError("no answer within " + ANSWER);
    }
    ByteBuf b = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    try {
      DeviceMessage m = DeviceCodec.decodeReply(b);
      if (m instanceof Connected c) {
        session = c.sessionId();
      }
      return m;
    } finally {
      b.release();
    }
  }

  /** The next answer's errno; fails the test when the answer is not an error. */
  public ErrorCode error() {
    DeviceMessage m = reply();
    if (m instanceof DeviceMessage.ErrorReply e) {
      return e.code().orElseThrow(() -> new AssertionError("unknown errno " + e.errno()));
    }
    throw new AssertionError("expected an error, got " + m);
  }

  /** The server's close frame; fails the test when the server does not close in time. */
  public WsClient.Close awaitClose() {
    try {
      return ws.closed().get(ANSWER.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("server did not close", e);
    }
  }

  /** Whether the server closed the socket. */
  public boolean isClosed() {
    return ws.closed().isDone();
  }

  /** The underlying client. */
  public WsClient ws() {
    return ws;
  }

  @Override
  public void close() {
    ws.close();
  }
}
