package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.RedisPresenceStateStore;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;

/**
 * Redis with a password and over TLS, on servers of this class's own: a Redis Cluster with {@code
 * requirepass} reached with and without the password in its {@code redis-cluster://} URL, a Redis
 * with TLS and a password over {@code rediss://}, and a Redis Cluster with TLS over {@code
 * rediss-cluster://}, each verified against a self-signed certificate made here ({@code
 * store.redis.tls-ca-file}).
 */
class RedisAuthTlsIT {
  private static final String PASSWORD = "s3cret-" + UUID.randomUUID();
  private static Path dir;
  private static Path cert;
  private static PrivateRedis authCluster;
  private static PrivateRedis tlsRedis;
  private static PrivateRedis tlsCluster;
  private static PrivateRedis authPrimary;
  private static PrivateRedis sentinel;

  @BeforeAll
  static void start() throws Exception {
    Backends.redisUrl();
    dir = Files.createTempDirectory("redis-auth-tls");
    cert = PrivateRedis.selfSignedCertificate(dir.resolve("tls"));
    authCluster = PrivateRedis.cluster(dir.resolve("auth-cluster"), PASSWORD, null);
    tlsRedis = PrivateRedis.single(dir.resolve("tls-redis"), PASSWORD, cert);
    tlsCluster = PrivateRedis.cluster(dir.resolve("tls-cluster"), PASSWORD, cert);
    authPrimary = PrivateRedis.single(dir.resolve("auth-primary"), PASSWORD, null);
    sentinel =
        PrivateRedis.sentinel(
            dir.resolve("sentinel"), authPrimary.ports().get(0), PASSWORD, "presence");
  }

  @AfterAll
  static void stop() {
    for (PrivateRedis r :
        new PrivateRedis[] {sentinel, authPrimary, authCluster, tlsRedis, tlsCluster}) {
      if (r != null) {
        r.close();
      }
    }
    if (dir != null) {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (java.io.IOException e) {
        // Left in the temporary directory.
      }
    }
  }

  private static String seeds(PrivateRedis r) {
    StringBuilder b = new StringBuilder();
    for (int port : r.ports()) {
      b.append(b.isEmpty() ? "" : ",").append("127.0.0.1:").append(port);
    }
    return b.toString();
  }

  private static StoreConfig.RedisConfig config(String url) {
    return StoreConfig.RedisConfig.redis(url)
        .withKeyPrefix(Backends.uniquePrefix(RedisAuthTlsIT.class));
  }

  /** A status change for users of many slots, read back: every shard took the password. */
  private static void presenceWorks(StoreConfig.RedisConfig config) throws Exception {
    try (RedisBackend backend = RedisBackend.connect(config)) {
      PresenceStateStore store = new RedisPresenceStateStore(backend);
      for (int i = 0; i < 12; i++) {
        String user = "u" + i;
        UUID s = UUID.randomUUID();
        store.claim(user, "d", s, "node", 10, 1).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(
                store
                    .update(user, "d", s, PresenceStatus.ONLINE, null, null, 2)
                    .toCompletableFuture()
                    .get(10, TimeUnit.SECONDS)
                    .changes())
            .hasSize(1);
        assertThat(
                store
                    .presence(user)
                    .toCompletableFuture()
                    .get(10, TimeUnit.SECONDS)
                    .allApps()
                    .status())
            .isEqualTo(PresenceStatus.ONLINE);
      }
      assertThat(backend.shards()).isEqualTo(backend.cluster() ? 3 : 1);
    }
  }

  @Test
  void clusterWithRequirepass_connectsWithThePasswordInTheUrl() throws Exception {
    presenceWorks(config("redis-cluster://default:" + PASSWORD + "@" + seeds(authCluster)));
    presenceWorks(config("redis-cluster://" + PASSWORD + "@" + seeds(authCluster)));
  }

  @Test
  void clusterWithRequirepass_withoutOrWithAWrongPassword_failsClearly() {
    assertThatThrownBy(() -> RedisBackend.connect(config("redis-cluster://" + seeds(authCluster))))
        .satisfies(e -> assertThat(rootMessages(e)).containsPattern("NOAUTH|Authentication"));
    assertThatThrownBy(
            () ->
                RedisBackend.connect(config("redis-cluster://default:wrong@" + seeds(authCluster))))
        .satisfies(e -> assertThat(rootMessages(e)).containsPattern("WRONGPASS|invalid"))
        .satisfies(e -> assertThat(rootMessages(e)).doesNotContain(PASSWORD));
  }

  @Test
  void tlsRedis_overRediss_verifiedAgainstTheCaFile() throws Exception {
    int port = tlsRedis.ports().get(0);
    presenceWorks(
        config("rediss://" + PASSWORD + "@127.0.0.1:" + port).withTlsCaFile(cert.toString()));
    // The JVM's authorities do not know a self-signed certificate: refused, not trusted blindly.
    assertThatThrownBy(
            () -> RedisBackend.connect(config("rediss://" + PASSWORD + "@127.0.0.1:" + port)))
        .satisfies(e -> assertThat(rootMessages(e)).containsIgnoringCase("certif"));
  }

  @Test
  void tlsCluster_overRedissCluster_verifiedAgainstTheCaFile() throws Exception {
    presenceWorks(
        config("rediss-cluster://" + PASSWORD + "@" + seeds(tlsCluster))
            .withTlsCaFile(cert.toString()));
    assertThatThrownBy(
            () ->
                RedisBackend.connect(
                    config("redis-cluster://" + PASSWORD + "@" + seeds(tlsCluster))))
        .isInstanceOf(RuntimeException.class);
  }

  @Test
  void sentinelUrlWithAPassword_passesItToTheDataNodes() throws Exception {
    String sentinelAt = "127.0.0.1:" + sentinel.ports().get(0);
    presenceWorks(config("redis-sentinel://" + PASSWORD + "@" + sentinelAt + "/#presence"));
    assertThatThrownBy(
            () -> RedisBackend.connect(config("redis-sentinel://" + sentinelAt + "/#presence")))
        .satisfies(e -> assertThat(rootMessages(e)).containsPattern("NOAUTH|Authentication"));
  }

  /** The messages of {@code e} and its causes, one per line. */
  private static String rootMessages(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      b.append(t).append('\n');
    }
    return b.toString();
  }
}
