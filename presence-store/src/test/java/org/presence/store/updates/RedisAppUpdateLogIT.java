package org.presence.store.updates;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisAppUpdateLogIT extends AppUpdateLogContract {
  /** The Redis settings: one Redis here, a Redis Cluster in {@link RedisAppUpdateLogClusterIT}. */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisAppUpdateLogIT.class);
  }

  private RedisBackend connect() {
    RedisBackend b = RedisBackend.connect(redisConfig(prefix));
    backends.add(b);
    return b;
  }

  @Override
  protected AppUpdateLog open(Duration retention) {
    return new RedisAppUpdateLog(connect(), retention);
  }

  @Override
  protected AppUpdateLog bounded(int max) {
    return new RedisAppUpdateLog(connect(), AppUpdateLog.RETENTION, max);
  }

  @Override
  protected AppUpdateLog peer(AppUpdateLog log) {
    return new RedisAppUpdateLog(connect());
  }

  @Override
  protected void closeAll() {
    backends.forEach(RedisBackend::close);
    backends.clear();
  }

  @Test
  void numbering_survivesAReconnect() {
    AppUpdateLog a = open(AppUpdateLog.RETENTION);
    long seq =
        join(a.append(77, List.of(new AppUpdate.New("p", PresenceStatus.ONLINE, "")))).get(0).seq();
    closeAll();
    AppUpdateLog b = open(AppUpdateLog.RETENTION);
    assertThat(join(b.lastSeq(77))).isEqualTo(seq);
    AppUpdateLog.Read r = join(b.readSince(77, seq - 1, 10));
    assertThat(r.updates()).extracting(AppUpdate::seq).containsExactly(seq);
  }
}
