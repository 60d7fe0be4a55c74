package org.presence.protocol.id;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 digests (key and token hashes, cache keys, ids that must not name a user) from one digest
 * per thread: {@link MessageDigest#getInstance} looks the provider up on every call, and every JVM
 * has SHA-256, so its absence is an error, not a case to handle.
 */
public final class Sha256 {
  private static final ThreadLocal<MessageDigest> LOCAL =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("SHA-256 is missing from this JVM", e);
            }
          });

  private Sha256() {}

  /** The 32-byte SHA-256 of {@code bytes}. */
  public static byte[] of(byte[] bytes) {
    MessageDigest d = LOCAL.get();
    d.reset();
    return d.digest(bytes);
  }

  /** The 32-byte SHA-256 of {@code text}'s UTF-8 bytes. */
  public static byte[] of(String text) {
    return of(text.getBytes(StandardCharsets.UTF_8));
  }
}
