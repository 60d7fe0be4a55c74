package org.presence.gateway.fanout;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/**
 * {@link RedisStatusBatchesIT}, every test of it, against a Redis Cluster: a batch is one state
 * call per user slot and one log call per application slot (issue 13, section 2).
 */
class RedisStatusBatchesClusterIT extends RedisStatusBatchesIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * Here a lone change is two calls: the state call on the user's shard and the log call on the
   * application's, which publishes with {@code SPUBLISH}.
   */
  @Override
  Map<String, Long> expectedLoneChange(boolean firstOfPeriod) {
    Map<String, Long> m = new TreeMap<>(super.expectedLoneChange(firstOfPeriod));
    m.put("evalsha", 2L);
    m.put("spublish", m.remove("publish"));
    return m;
  }

  /**
   * Each user's hash is in a slot of its own here: a state call per user, while the log calls of
   * all of them are batched per application slot. A log call per status and application would make
   * 3 * users calls; the bound, 2.5 * users, leaves room for the batches a loaded machine splits
   * more finely and for the first EVALSHA on each shard, which Redis counts once more when it
   * answers NOSCRIPT (92 for 60 users was seen on a fresh cluster, 121 on a loaded one).
   */
  @Override
  long mostScriptCalls(int users) {
    return 5L * users / 2;
  }
}
