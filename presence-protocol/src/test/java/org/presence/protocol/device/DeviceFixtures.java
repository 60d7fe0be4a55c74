package org.presence.protocol.device;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.presence.client.DeviceClient;
import org.presence.client.DeviceFrames;

/**
 * Golden device-channel frames (under {@code device/} in the test resources) and helpers, shared
 * with the other modules' tests through the test-jar.
 */
public final class DeviceFixtures {
  /** The session id used by the golden frames. */
  public static final UUID SESSION = UUID.fromString("61539351-1f02-4b62-a136-205000ece41a");

  /** The assertion in the golden connect frames (not a valid signature). */
  public static final String ASSERTION = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

  private DeviceFixtures() {}

  /** The text of golden frame {@code name} (without {@code .json}), without the final newline. */
  public static String json(String name) {
    try (InputStream in = DeviceFixtures.class.getResourceAsStream("/device/" + name + ".json")) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code text} as an unpooled heap buffer. */
  public static ByteBuf buf(String text) {
    return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
  }

  /**
   * A node's frame (an answer, pushed notifications or settings) read the way clients read it,
   * through presence-client's {@link DeviceFrames}, as the {@link DeviceMessage} the node encoded:
   * tests check what the node writes against the one reader devices use. {@code frame}'s readable
   * bytes are read and left in place; the caller still owns it.
   */
  public static DeviceMessage reply(ByteBuf frame) {
    return reply(frame.toString(StandardCharsets.UTF_8));
  }

  /** {@link #reply(ByteBuf)} of a frame's text. */
  public static DeviceMessage reply(String text) {
    DeviceFrames.Frame f = DeviceFrames.read(text);
    if (f instanceof DeviceFrames.Accepted a) {
      if (a.sessionId() != null) {
        return new DeviceMessage.Connected(UUID.fromString(a.sessionId()), a.expiresAt());
      }
      return a.expiresAt() > 0
          ? new DeviceMessage.Refreshed(a.expiresAt())
          : DeviceMessage.Ack.INSTANCE;
    }
    if (f instanceof DeviceFrames.Refused r) {
      return new DeviceMessage.ErrorReply(r.errno(), r.reason());
    }
    if (f instanceof DeviceFrames.Pushed p) {
      return new DeviceMessage.Notifications(
          p.notifications().stream()
              .map(
                  n ->
                      new DeviceMessage.LiveNotification(
                          n.id(),
                          n.appId(),
                          n.source(),
                          n.message(),
                          n.action(),
                          n.expiresMillis(),
                          n.missed()))
              .toList());
    }
    DeviceClient.Settings s = ((DeviceFrames.SettingsChanged) f).settings();
    return new DeviceMessage.Settings(
        s.onlineWithinMinutes(),
        s.awayAfterMinutes(),
        s.offlineAfterMinutes(),
        s.customStatus(),
        s.awayMessage());
  }

  /** A status frame for {@code session} and {@code status}. */
  public static String status(UUID session, String status) {
    return "{\"type\":\"status\",\"session_id\":\"" + session + "\",\"status\":\"" + status + "\"}";
  }
}
