package org.presence.store.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.h2.tools.Server;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.exec.StoreExecutors;
import org.presence.store.testing.Futures;

/**
 * The database runner against a real database server (H2's TCP server) that goes away and comes
 * back: once a connection attempt has failed, calls fail at once instead of each waiting the
 * connect timeout behind the others, and they run again once the server is back; a call that gets
 * no thread within its deadline fails with {@code SERVER_BUSY} instead of waiting its turn.
 */
class DbTest {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);

  private final Deque<AutoCloseable> closing = new ArrayDeque<>();

  @AfterEach
  void close() throws Exception {
    while (!closing.isEmpty()) {
      closing.pop().close();
    }
  }

  private Db db(String url, int threads, Duration connectTimeout, Duration maxWait) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(url);
    hc.setUsername("sa");
    hc.setPassword("");
    hc.setMaximumPoolSize(threads);
    hc.setConnectionTimeout(connectTimeout.toMillis());
    hc.setInitializationFailTimeout(-1);
    HikariDataSource ds = new HikariDataSource(hc);
    closing.push(ds);
    ThreadPoolExecutor pool = StoreExecutors.bounded("db-test-", threads, 1024);
    closing.push(pool::shutdownNow);
    return new Db(Jdbi.create(ds), pool, maxWait);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static CompletableFuture<Integer> select(Db db) {
    return db.call(h -> h.createQuery("SELECT 1").mapTo(Integer.class).one()).toCompletableFuture();
  }

  private static Server tcp(int port) throws Exception {
    return Server.createTcpServer("-tcpPort", Integer.toString(port), "-ifNotExists").start();
  }

  @Test
  void serverGoesAway_callsFailAtOnce_andRunAgainOnceItIsBack() throws Exception {
    int port = freePort();
    Server server = tcp(port);
    closing.push(() -> server.stop());
    Db db =
        db(
            "jdbc:h2:tcp://127.0.0.1:" + port + "/mem:" + UUID.randomUUID(),
            2,
            CONNECT_TIMEOUT,
            Duration.ofSeconds(30));
    AtomicInteger back = new AtomicInteger();
    db.whenReachable(back::incrementAndGet);
    // The first connection may take longer than the connect timeout on a busy machine.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> select(db).handle((v, e) -> e == null).join());

    server.stop();
    // 30 calls at once on 2 threads: the first attempts wait the connect timeout (1 s) and find
    // the server gone; the rest fail then. Each waiting its own turn took 15 s.
    long start = System.nanoTime();
    List<CompletableFuture<Integer>> calls = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      calls.add(select(db));
    }
    for (CompletableFuture<Integer> c : calls) {
      // A pooled connection the server closed may fail first with its own error.
      try {
        c.get(20, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException expected) {
        // checked below
      }
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> select(db).handle((v, e) -> e != null).join() && db.knownDown());
    // Not back: the listener has not run (nor for a first connection that was slow to come).
    assertThat(back).hasValue(0);

    // Known down: 30 more calls all fail at once with errno 502.
    start = System.nanoTime();
    calls.clear();
    for (int i = 0; i < 30; i++) {
      calls.add(select(db));
    }
    for (CompletableFuture<Integer> c : calls) {
      assertThat(Futures.failure(c)).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(CONNECT_TIMEOUT);

    Server again = tcp(port);
    closing.push(() -> again.stop());
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> select(db).handle((v, e) -> e == null).join());
    assertThat(db.knownDown()).isFalse();
    // Its listeners heard of it once.
    assertThat(back).hasValue(1);
    calls.clear();
    for (int i = 0; i < 10; i++) {
      calls.add(select(db));
    }
    for (CompletableFuture<Integer> c : calls) {
      assertThat(Futures.join(c)).isEqualTo(1);
    }
  }

  @Test
  void callWaitingPastItsDeadline_failsServerBusy_beforeTheCallAheadEnds() {
    Db db =
        db(
            "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
            1,
            Duration.ofSeconds(10),
            Duration.ofMillis(300));
    CompletableFuture<Integer> slow =
        db.call(
                h -> {
                  Thread.sleep(3000);
                  return 1;
                })
            .toCompletableFuture();
    long start = System.nanoTime();
    CompletableFuture<Integer> behind = select(db);
    assertThat(Futures.failure(behind)).isEqualTo(ErrorCode.SERVER_BUSY);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2000));
    assertThat(slow).isNotDone();
    assertThat(Futures.join(slow)).isEqualTo(1);
    // Its place in the queue was given up: the next call runs.
    assertThat(Futures.join(select(db))).isEqualTo(1);
  }
}
