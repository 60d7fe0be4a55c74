package org.presence.protocol.device;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

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

  /** A status frame for {@code session} and {@code status}. */
  public static String status(UUID session, String status) {
    return "{\"type\":\"status\",\"session_id\":\"" + session + "\",\"status\":\"" + status + "\"}";
  }
}
