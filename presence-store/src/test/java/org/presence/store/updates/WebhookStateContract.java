package org.presence.store.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link WebhookState} must have. Runs against the in-memory state ({@code
 * LocalWebhookStateTest}) and Redis ({@code RedisWebhookStateIT}).
 */
public abstract class WebhookStateContract {
  private static final Duration TTL = Duration.ofSeconds(30);

  /** A fresh state. */
  protected abstract WebhookState open();

  /** A second view of the same state, as another node's (the same one in memory). */
  protected abstract WebhookState peer(WebhookState state);

  /** Closes what was opened. */
  protected abstract void closeAll();

  @AfterEach
  void close() {
    closeAll();
  }

  protected static <T> T join(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static long app() {
    return ThreadLocalRandom.current().nextLong(1_000_000, Long.MAX_VALUE / 4);
  }

  @Test
  void acquire_isExclusive_andReentrantForItsHolder() {
    WebhookState a = open();
    WebhookState b = peer(a);
    long app = app();
    assertThat(join(a.acquire(app, "node-a", TTL))).isTrue();
    assertThat(join(b.acquire(app, "node-b", TTL))).isFalse();
    assertThat(join(a.acquire(app, "node-a", TTL))).isTrue();
    assertThat(join(b.renew(app, "node-b", TTL))).isFalse();
    assertThat(join(a.renew(app, "node-a", TTL))).isTrue();
    assertThat(join(b.pending())).contains(app);
  }

  @Test
  void release_letsAnotherNodeTakeOver_andDoneDropsThePendingMark() {
    WebhookState a = open();
    WebhookState b = peer(a);
    long app = app();
    join(a.acquire(app, "node-a", TTL));
    join(b.release(app, "node-b", true));
    assertThat(join(b.acquire(app, "node-b", TTL))).as("not released by a non-holder").isFalse();
    join(a.release(app, "node-a", false));
    assertThat(join(b.pending())).contains(app);
    assertThat(join(b.acquire(app, "node-b", TTL))).isTrue();
    join(b.release(app, "node-b", true));
    assertThat(join(a.pending())).doesNotContain(app);
  }

  @Test
  void expiredLease_isTakenByAnother() {
    WebhookState a = open();
    WebhookState b = peer(a);
    long app = app();
    assertThat(join(a.acquire(app, "node-a", Duration.ofMillis(300)))).isTrue();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> join(b.acquire(app, "node-b", TTL)));
    assertThat(join(a.renew(app, "node-a", TTL))).isFalse();
  }

  @Test
  void cursor_isSetOnceByInit_andMovedOnlyByTheHolder() {
    WebhookState a = open();
    WebhookState b = peer(a);
    long app = app();
    assertThat(join(a.cursor(app))).isEmpty();
    assertThat(join(a.initCursor(app, new WebhookState.Cursor(10, 0))))
        .isEqualTo(new WebhookState.Cursor(10, 0));
    assertThat(join(b.initCursor(app, new WebhookState.Cursor(99, 5))))
        .isEqualTo(new WebhookState.Cursor(10, 0));
    join(a.acquire(app, "node-a", TTL));
    assertThat(join(b.saveCursor(app, "node-b", new WebhookState.Cursor(50, 7)))).isFalse();
    assertThat(
            join(
                a.saveCursor(
                    app,
                    "node-a",
                    new WebhookState.Cursor(1_700_000_000_000_017L, 1_700_000_000_123L))))
        .isTrue();
    assertThat(join(b.cursor(app)))
        .contains(new WebhookState.Cursor(1_700_000_000_000_017L, 1_700_000_000_123L));
  }

  @Test
  void anUnknownPosition_isKeptAsSuch() {
    WebhookState a = open();
    WebhookState b = peer(a);
    long app = app();
    WebhookState.Cursor unknown = new WebhookState.Cursor(WebhookState.Cursor.UNKNOWN, 0);
    assertThat(join(a.initCursor(app, unknown))).isEqualTo(unknown);
    assertThat(join(b.cursor(app))).hasValueSatisfying(c -> assertThat(c.unknown()).isTrue());
    assertThat(join(b.initCursor(app, new WebhookState.Cursor(10, 0)))).isEqualTo(unknown);
  }
}
