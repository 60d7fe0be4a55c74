package org.presence.store.queue;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.Base64;
import org.presence.protocol.id.Sha256;

/**
 * The key a user's queues are stored under: base64url of the SHA-256 of their identity ({@code
 * sub}). Fixed length and free of separators, so it is safe inside Redis key names, and the raw
 * identity does not appear in the queue stores. Keys of recent users are cached (up to {@value
 * #CACHED}), since every post and every delivery needs them; a key unused for {@link #IDLE} is
 * dropped at the cache's next upkeep (a digest costs about a microsecond), so the user of an idle
 * session holds none. The upkeep runs on the calling thread.
 */
public final class UserKeys {
  private static final int CACHED = 100_000;

  /** How long a key stays cached without being used. */
  static final Duration IDLE = Duration.ofMinutes(1);

  private static final Cache<String, String> KEYS = cache(Ticker.systemTicker());

  private UserKeys() {}

  /** The key for {@code userSub}. */
  public static String of(String userSub) {
    return KEYS.get(userSub, UserKeys::compute);
  }

  /** A cache of keys as {@link #of} keeps them, on {@code ticker}'s time (tests move it). */
  static Cache<String, String> cache(Ticker ticker) {
    // The upkeep runs on the caller's thread (amortised over calls, only by a caller whose
    // tryLock of the cache's lock succeeded), not as a common-pool task: every session's open
    // looks a key up, and each new key's upkeep task cost that event loop a thread wake-up.
    return Caffeine.newBuilder()
        .maximumSize(CACHED)
        .expireAfterAccess(IDLE)
        .ticker(ticker)
        .executor(Runnable::run)
        .build();
  }

  /** Whether {@code userSub}'s key is cached now. */
  static boolean cached(String userSub) {
    return KEYS.getIfPresent(userSub) != null;
  }

  static String compute(String userSub) {
    byte[] d = Sha256.of(userSub);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
  }
}
