package org.presence.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;

/**
 * A log call lost to a Redis failover does not lose its updates: the users' states already hold the
 * changes (on a Redis Cluster, on another shard), so the publisher sends the call again.
 */
class AppUpdatePublisherRetryTest {

  /** A log whose first {@code failures} appends fail, as calls to a shard with no primary do. */
  private static final class FlakyLog implements AppUpdateLog {
    final LocalAppUpdateLog real = new LocalAppUpdateLog();
    final AtomicInteger failuresLeft;
    final AtomicInteger calls = new AtomicInteger();

    FlakyLog(int failures) {
      this.failuresLeft = new AtomicInteger(failures);
    }

    @Override
    public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
      calls.incrementAndGet();
      if (failuresLeft.getAndDecrement() > 0) {
        return CompletableFuture.failedFuture(new IllegalStateException("no primary for slot"));
      }
      return real.append(appId, updates);
    }

    @Override
    public CompletionStage<Read> readSince(long appId, long since, int limit) {
      return real.readSince(appId, since, limit);
    }

    @Override
    public CompletionStage<Long> lastSeq(long appId) {
      return real.lastSeq(appId);
    }
  }

  @Test
  void aLogCallThatFails_isSentAgain_andTheUpdatesAreLogged() throws Exception {
    FlakyLog log = new FlakyLog(3);
    AppUpdatePublisher publisher = new AppUpdatePublisher(log, new LocalPresenceBus());

    Map<Long, List<AppUpdate>> numbered =
        publisher
            .publishAll(Map.of(7L, List.of(new AppUpdate.New("p", PresenceStatus.AWAY, "after"))))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);

    assertThat(numbered.get(7L)).extracting(AppUpdate::status).containsExactly(PresenceStatus.AWAY);
    assertThat(log.calls.get()).isEqualTo(4);
    assertThat(log.lastSeq(7L).toCompletableFuture().get())
        .isEqualTo(numbered.get(7L).get(0).seq());
  }
}
