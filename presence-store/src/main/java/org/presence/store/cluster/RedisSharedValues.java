package org.presence.store.cluster;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link SharedValues} in Redis: a value is a string key {@code <prefix>shared:{shared:<name>}}
 * with its expiry, a claim {@code <prefix>claim:{shared:<name>}} (its holder) set only if absent;
 * the two share a slot, so that a put ends its holder's claim in the same script. One command or
 * one script call each.
 */
public final class RedisSharedValues implements SharedValues {
  /** KEYS: the claim; ARGV: holder. Deletes the claim if the holder holds it. */
  private static final String RELEASE =
      """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('DEL', KEYS[1])
      end
      return 1
      """;

  /**
   * KEYS: the value, the claim; ARGV: value, ttl (ms), holder. Stores the value, then ends the
   * holder's claim.
   */
  private static final String PUT =
      """
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      if redis.call('GET', KEYS[2]) == ARGV[3] then
        redis.call('DEL', KEYS[2])
      end
      return 1
      """;

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final RedisScript put;
  private final RedisScript release;

  public RedisSharedValues(RedisBackend backend) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.put = new RedisScript(PUT, redis);
    this.release = new RedisScript(RELEASE, redis);
  }

  private String value(String name) {
    return keys.group("shared:" + name, "shared", "");
  }

  private String claimKey(String name) {
    return keys.group("shared:" + name, "claim", "");
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  /** One {@code GET}. */
  @Override
  public CompletionStage<Optional<String>> get(String name) {
    return redis
        .get(value(name))
        .thenApply(v -> Optional.ofNullable(v).map(b -> new String(b, StandardCharsets.UTF_8)));
  }

  /** One script call: {@code SET … PX}, {@code GET} of the claim, {@code DEL} if the holder's. */
  @Override
  public CompletionStage<Void> put(String name, String value, Duration ttl, String holder) {
    return put.<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {value(name), claimKey(name)},
            bytes(value),
            bytes(Math.max(1, ttl.toMillis())),
            bytes(holder))
        .thenApply(v -> null);
  }

  /** One {@code SET … NX PX}. */
  @Override
  public CompletionStage<Boolean> claim(String name, String holder, Duration ttl) {
    return redis
        .set(claimKey(name), bytes(holder), SetArgs.Builder.nx().px(Math.max(1, ttl.toMillis())))
        .thenApply("OK"::equals);
  }

  /** One script call: {@code GET} of the claim, {@code DEL} if the holder's. */
  @Override
  public CompletionStage<Void> release(String name, String holder) {
    return release
        .<Long>run(ScriptOutputType.INTEGER, new String[] {claimKey(name)}, bytes(holder))
        .thenApply(v -> null);
  }
}
