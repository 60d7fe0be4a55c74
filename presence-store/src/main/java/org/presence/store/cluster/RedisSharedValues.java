package org.presence.store.cluster;

import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;

/**
 * {@link SharedValues} in Redis: a value is a string key {@code <prefix>shared:<name>} with its
 * expiry, a claim {@code <prefix>claim:<name>} set only if absent; one command each, two for a put
 * (single keys, so on a Redis Cluster each goes to the primary of its own slot).
 */
public final class RedisSharedValues implements SharedValues {
  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;

  public RedisSharedValues(RedisBackend backend) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
  }

  /** One {@code GET}. */
  @Override
  public CompletionStage<Optional<String>> get(String name) {
    return redis
        .get(keys.key("shared:" + name))
        .thenApply(v -> Optional.ofNullable(v).map(b -> new String(b, StandardCharsets.UTF_8)));
  }

  /** One {@code SET … PX}, then one {@code DEL} of the claim (sent together). */
  @Override
  public CompletionStage<Void> put(String name, String value, Duration ttl) {
    var set =
        redis.set(
            keys.key("shared:" + name),
            value.getBytes(StandardCharsets.UTF_8),
            SetArgs.Builder.px(Math.max(1, ttl.toMillis())));
    var end = redis.del(keys.key("claim:" + name));
    return set.thenCombine(end, (a, b) -> null);
  }

  /** One {@code SET … NX PX}. */
  @Override
  public CompletionStage<Boolean> claim(String name, String holder, Duration ttl) {
    return redis
        .set(
            keys.key("claim:" + name),
            holder.getBytes(StandardCharsets.UTF_8),
            SetArgs.Builder.nx().px(Math.max(1, ttl.toMillis())))
        .thenApply("OK"::equals);
  }
}
