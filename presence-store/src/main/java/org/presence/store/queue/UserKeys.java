package org.presence.store.queue;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The key a user's queues are stored under: base64url of the SHA-256 of their identity ({@code
 * sub}). Fixed length and free of separators, so it is safe inside Redis key names, and the raw
 * identity does not appear in the queue stores. Keys of recent users are cached (up to {@value
 * #CACHED}), since every post and every delivery needs them.
 */
public final class UserKeys {
  private static final int CACHED = 100_000;

  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
          });

  private static final Cache<String, String> KEYS =
      Caffeine.newBuilder().maximumSize(CACHED).build();

  private UserKeys() {}

  /** The key for {@code userSub}. */
  public static String of(String userSub) {
    return KEYS.get(userSub, UserKeys::compute);
  }

  private static String compute(String userSub) {
    byte[] d = SHA256.get().digest(userSub.getBytes(StandardCharsets.UTF_8));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
  }
}
