package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.SlotMover;

/**
 * {@link RedisScript} on a Redis Cluster while the slot of a call's keys is being moved to another
 * primary (a reshard), on a private three-primary cluster: a call over two keys of the slot, one
 * already moved and one not, is refused by Redis ({@code TRYAGAIN}) until both are on the new
 * primary, and then answers.
 */
class RedisScriptClusterIT {
  private static final String BOTH =
      "return (redis.call('GET', KEYS[1]) or '-') .. (redis.call('GET', KEYS[2]) or '-')";

  @Test
  void aCallOverAHalfMovedSlot_goesAgainUntilItsKeysAreTogether_unlessMadeOnce(@TempDir Path dir)
      throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports())) {
      String url = cluster.clusterUrl();
      try (RedisBackend redis =
          RedisBackend.connect(StoreConfig.RedisConfig.redis(url).withKeyPrefix("s:"))) {
        String a = "{t}a";
        String b = "{t}b";
        int slot = SlotHash.getSlot(a);
        var commands = redis.commands().async();
        commands.set(a, bytes("A")).get(5, TimeUnit.SECONDS);
        commands.set(b, bytes("B")).get(5, TimeUnit.SECONDS);
        RedisScript again = new RedisScript(BOTH, commands);
        RedisScript once = RedisScript.oneTry(BOTH, commands);
        String[] keys = {a, b};

        mover.begin(slot, mover.otherThan(slot));
        mover.migrate(slot, a);
        assertThatThrownBy(() -> once.run(ScriptOutputType.VALUE, keys).get(5, TimeUnit.SECONDS))
            .isInstanceOf(ExecutionException.class)
            .satisfies(e -> assertThat(RedisScript.halfMoved(e)).as("%s", e).isTrue());

        CompletableFuture<Object> call = again.run(ScriptOutputType.VALUE, keys);
        // Refused again and again while the keys are apart: it cannot have answered yet.
        Thread.sleep(300);
        assertThat(call).isNotDone();
        mover.migrate(slot, b);
        mover.finish(slot);
        assertThat(text(call.get(10, TimeUnit.SECONDS))).isEqualTo("AB");
        assertThat(text(once.run(ScriptOutputType.VALUE, keys).get(5, TimeUnit.SECONDS)))
            .isEqualTo("AB");
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Object o) {
    return new String((byte[]) o, StandardCharsets.UTF_8);
  }
}
