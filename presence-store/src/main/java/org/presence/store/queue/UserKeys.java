package org.presence.store.queue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The key a user's queues are stored under: base64url of the SHA-256 of their identity ({@code
 * sub}). Fixed length and free of separators, so it is safe inside Redis key names, and the raw
 * identity does not appear in the queue stores.
 */
public final class UserKeys {
  private UserKeys() {}

  /** The key for {@code userSub}. */
  public static String of(String userSub) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(userSub.getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
