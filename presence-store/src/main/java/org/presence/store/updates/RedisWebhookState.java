package org.presence.store.updates;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link WebhookState} in Redis: per application a lease key holding the sender node's id ({@code
 * <prefix>whlease:{webhooks}<app>}, expiring with the lease) and a cursor ({@code
 * <prefix>whcur:{webhooks}<app>}, {@code <seq>:<last call ms>}, kept for twice the update log's
 * retention), and the set of applications that need a sender ({@code
 * <prefix>whpending:{webhooks}}). Each check-and-change is one script, so two nodes never both hold
 * a lease or both move a cursor; the scripts change a lease and the pending set together, so all of
 * it shares the hash tag {@code {webhooks}} (one slot on a Redis Cluster: one lease and cursor per
 * application with a webhook, changed a few times a second at most).
 */
public final class RedisWebhookState implements WebhookState {
  /** KEYS: lease, pending set; ARGV: node, ttl ms, app id. */
  private static final String ACQUIRE =
      """
      local cur = redis.call('GET', KEYS[1])
      if cur and cur ~= ARGV[1] then
        return 0
      end
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      redis.call('SADD', KEYS[2], ARGV[3])
      return 1
      """;

  /** KEYS: lease; ARGV: node, ttl ms. */
  private static final String RENEW =
      """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
      end
      return 0
      """;

  /** KEYS: lease, pending set; ARGV: node, done (1/0), app id. */
  private static final String RELEASE =
      """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('DEL', KEYS[1])
        if ARGV[2] == '1' then
          redis.call('SREM', KEYS[2], ARGV[3])
        end
        return 1
      end
      return 0
      """;

  /** KEYS: cursor; ARGV: initial value, ttl ms. Returns the cursor in force. */
  private static final String INIT =
      """
      redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
      return redis.call('GET', KEYS[1])
      """;

  /** KEYS: lease, cursor; ARGV: node, value, ttl ms. */
  private static final String SAVE =
      """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        return 1
      end
      return 0
      """;

  /** The hash tag of all webhook keys ({@link RedisKeys#group}). */
  private static final String GROUP = "webhooks";

  private static final long CURSOR_TTL_MS = AppUpdateLog.RETENTION.toMillis() * 2;

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final RedisScript acquire;
  private final RedisScript renew;
  private final RedisScript release;
  private final RedisScript init;
  private final RedisScript save;

  public RedisWebhookState(RedisBackend backend) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.acquire = new RedisScript(ACQUIRE, redis);
    this.renew = new RedisScript(RENEW, redis);
    this.release = new RedisScript(RELEASE, redis);
    this.init = new RedisScript(INIT, redis);
    this.save = new RedisScript(SAVE, redis);
  }

  private String lease(long appId) {
    return keys.group(GROUP, "whlease", Long.toString(appId));
  }

  private String cursorKey(long appId) {
    return keys.group(GROUP, "whcur", Long.toString(appId));
  }

  private String pendingKey() {
    return keys.group(GROUP, "whpending", "");
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<Boolean> acquire(long appId, String node, Duration ttl) {
    return acquire
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(appId), pendingKey()},
            bytes(node),
            bytes(ttl.toMillis()),
            bytes(appId))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<Boolean> renew(long appId, String node, Duration ttl) {
    return renew
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(appId)},
            bytes(node),
            bytes(ttl.toMillis()))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<Void> release(long appId, String node, boolean done) {
    return release
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(appId), pendingKey()},
            bytes(node),
            bytes(done ? 1 : 0),
            bytes(appId))
        .thenApply(n -> null);
  }

  @Override
  public CompletionStage<List<Long>> pending() {
    return RedisErrors.call(() -> redis.smembers(pendingKey()))
        .thenApply(
            members -> {
              List<Long> out = new ArrayList<>(members.size());
              for (byte[] m : members) {
                try {
                  out.add(Long.parseLong(new String(m, StandardCharsets.UTF_8)));
                } catch (NumberFormatException x) {
                  // Not one of ours; ignore.
                }
              }
              return out;
            });
  }

  @Override
  public CompletionStage<Optional<Cursor>> cursor(long appId) {
    return RedisErrors.call(() -> redis.get(cursorKey(appId)))
        .thenApply(v -> Optional.ofNullable(v).map(RedisWebhookState::parse));
  }

  @Override
  public CompletionStage<Cursor> initCursor(long appId, Cursor initial) {
    return init.<byte[]>run(
            ScriptOutputType.VALUE,
            new String[] {cursorKey(appId)},
            format(initial),
            bytes(CURSOR_TTL_MS))
        .thenApply(RedisWebhookState::parse);
  }

  @Override
  public CompletionStage<Boolean> saveCursor(long appId, String node, Cursor cursor) {
    return save.<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(appId), cursorKey(appId)},
            bytes(node),
            format(cursor),
            bytes(CURSOR_TTL_MS))
        .thenApply(n -> n == 1L);
  }

  private static byte[] format(Cursor c) {
    return bytes(c.seq() + ":" + c.lastCallMillis());
  }

  private static Cursor parse(byte[] v) {
    String s = new String(v, StandardCharsets.UTF_8);
    int colon = s.indexOf(':');
    return new Cursor(
        Long.parseLong(s.substring(0, colon)), Long.parseLong(s.substring(colon + 1)));
  }
}
