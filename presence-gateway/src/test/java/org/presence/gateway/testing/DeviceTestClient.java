package org.presence.gateway.testing;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceFixtures;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.device.DeviceMessage.Notifications;
import org.presence.protocol.device.DeviceMessage.Settings;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * A device for tests: a {@link WsClient} on {@code /presence} that writes requests with {@link
 * DeviceCodec} and reads the node's frames the way clients do, through presence-client's {@code
 * DeviceFrames} ({@link DeviceFixtures#reply}). Pushed {@code {"notifications": ...}} and {@code
 * {"settings": ...}} frames are set aside while it waits for an answer, and read with {@link
 * #notifications} and {@link #settings}.
 */
public final class DeviceTestClient implements AutoCloseable {
  /** How long a test waits for an answer. */
  public static final Duration ANSWER = Duration.ofSeconds(10);

  private final WsClient ws;
  private final Deque<Notifications> pushed = new ArrayDeque<>();
  private final Deque<Settings> settingsPushed = new ArrayDeque<>();
  private final List<String> rawPushes = new ArrayList<>();
  private UUID session;

  private DeviceTestClient(WsClient ws) {
    this.ws = ws;
  }

  /** A socket on {@code node}'s device channel, no session yet. */
  public static DeviceTestClient open(NodeAddress node) {
    return new DeviceTestClient(WsClient.connect(node.wsUri("/presence")));
  }

  /**
   * A socket on {@code node}'s device channel whose upgrade request carries {@code headers} (an
   * {@code X-Forwarded-For}, say), no session yet.
   */
  public static DeviceTestClient open(NodeAddress node, Map<String, String> headers) {
    return new DeviceTestClient(WsClient.connect(node.wsUri("/presence"), headers));
  }

  /** A device channel socket already open, no session yet. */
  public static DeviceTestClient over(WsClient ws) {
    return new DeviceTestClient(ws);
  }

  /** A socket at {@code uri}. */
  public static DeviceTestClient open(URI uri) {
    return new DeviceTestClient(WsClient.connect(uri));
  }

  /** Opens a session; fails the test unless the server answers with a session id. */
  public static DeviceTestClient connected(
      NodeAddress node, String token, ApplicationIds apps, String device) {
    return connected(node, Map.of(), token, apps, device);
  }

  /**
   * Opens a session on a socket whose upgrade request carries {@code headers}; fails the test
   * unless the server answers with a session id.
   */
  public static DeviceTestClient connected(
      NodeAddress node,
      Map<String, String> headers,
      String token,
      ApplicationIds apps,
      String device) {
    DeviceTestClient c = open(node, headers);
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

  /** The next answer, decoded, pushed notifications set aside; fails the test when none comes. */
  public DeviceMessage reply() {
    long deadline = System.nanoTime() + ANSWER.toNanos();
    while (true) {
      DeviceMessage m = next(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      if (m == null) {
        throw new AssertionError("no answer within " + ANSWER);
      }
      if (m instanceof Notifications n) {
        pushed.add(n);
        continue;
      }
      if (m instanceof Settings s) {
        settingsPushed.add(s);
        continue;
      }
      if (m instanceof Connected c) {
        session = c.sessionId();
      }
      return m;
    }
  }

  /** The next frame of any kind within {@code timeout}, or {@code null}. */
  private DeviceMessage next(Duration timeout) {
    String text;
    try {
      text = ws.next(timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    if (text == null) {
      return null;
    }
    DeviceMessage m = DeviceFixtures.reply(text);
    if (m instanceof Notifications) {
      rawPushes.add(text);
    }
    return m;
  }

  /**
   * The next pushed notifications frame within {@code timeout}, or {@code null}; answers that
   * arrive meanwhile fail the test.
   */
  public Notifications notifications(Duration timeout) {
    if (!pushed.isEmpty()) {
      return pushed.poll();
    }
    DeviceMessage m = next(timeout);
    if (m == null || m instanceof Notifications) {
      return (Notifications) m;
    }
    throw new AssertionError("expected notifications, got " + m);
  }

  /**
   * The next pushed settings frame within {@code timeout}, or {@code null}; other frames that
   * arrive meanwhile fail the test.
   */
  public Settings settings(Duration timeout) {
    if (!settingsPushed.isEmpty()) {
      return settingsPushed.poll();
    }
    DeviceMessage m = next(timeout);
    if (m == null || m instanceof Settings) {
      return (Settings) m;
    }
    throw new AssertionError("expected settings, got " + m);
  }

  /** The next pushed notifications frame; fails the test when none comes in time. */
  public Notifications notifications() {
    Notifications n = notifications(ANSWER);
    if (n == null) {
      throw new AssertionError("no notifications within " + ANSWER);
    }
    return n;
  }

  /**
   * Pushed notifications until {@code count} items arrived (over one or more frames); fails the
   * test when they do not come in time.
   */
  public List<LiveNotification> notifications(int count) {
    List<LiveNotification> out = new ArrayList<>();
    while (out.size() < count) {
      out.addAll(notifications().notifications());
    }
    return out;
  }

  /** The text of every notifications frame received so far, as sent. */
  public List<String> rawPushes() {
    return List.copyOf(rawPushes);
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
