package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;

/** Lettuce failures become BACKEND_UNAVAILABLE, however they surface. */
class RedisErrorsTest {
  private static StoreException failure(CompletableFuture<?> f) {
    assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isNotNull();
    Throwable e = f.handle((v, x) -> x).join();
    assertThat(e).isInstanceOf(CompletionException.class);
    assertThat(e.getCause()).isInstanceOf(StoreException.class);
    return (StoreException) e.getCause();
  }

  @Test
  void call_whenLettuceThrowsAtOnce_thenFailsWithBackendUnavailable() {
    CompletableFuture<String> f =
        RedisErrors.<String>call(
                () -> {
                  throw new RedisConnectionException("not connected");
                })
            .toCompletableFuture();
    StoreException e = failure(f);
    assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    assertThat(e.getCause()).hasMessage("not connected");
  }

  /**
   * Probe s33 F6: a Redis at its maxmemory (its OOM answer, to a command or inside a script) is
   * "Redis is full (maxmemory)", counted, not "redis unavailable"; other error answers are not.
   */
  @Test
  void unavailable_whenRedisIsFull_thenTheReasonSaysFull_andItIsCounted() {
    long before = RedisErrors.fullRefusals();
    for (Throwable lettuce :
        List.of(
            new RedisCommandExecutionException(
                "OOM command not allowed when used memory > 'maxmemory'."),
            new RedisCommandExecutionException(
                "ERR Error running script: OOM command not allowed when used memory >"
                    + " 'maxmemory'. script: f_1, on @user_script:10."))) {
      StoreException e = (StoreException) RedisErrors.unavailable(lettuce).getCause();
      assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
      assertThat(e.reason())
          .isEqualTo("Backend temporarily unavailable: Redis is full (maxmemory)");
      assertThat(e.getCause()).isSameAs(lettuce);
    }
    assertThat(RedisErrors.fullRefusals()).isEqualTo(before + 2);
    assertThat(RedisErrors.full(new RedisCommandExecutionException("NOSCRIPT No matching script")))
        .isFalse();
  }

  /**
   * What a client gets is the fixed reason: Lettuce's message (a host and port, the command
   * timeout) stays in the cause, for the log.
   */
  @Test
  void unavailable_whenLettuceSaysWhy_thenTheReasonIsFixed_andTheCauseKeepsTheWords() {
    for (Throwable lettuce :
        List.of(
            new RedisConnectionException(
                "Unable to connect to 127.0.0.1/<unresolved>:6390",
                new java.net.ConnectException("Connection refused: /127.0.0.1:6390")),
            new RedisCommandTimeoutException("Command timed out after 1 second(s)"),
            new RedisCommandExecutionException(
                "READONLY You can't write against a read only replica."))) {
      StoreException e = (StoreException) RedisErrors.unavailable(lettuce).getCause();
      assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
      assertThat(e.reason()).isEqualTo("Backend temporarily unavailable: redis unavailable");
      assertThat(e.getMessage()).isEqualTo(e.reason());
      assertThat(e.getCause()).isSameAs(lettuce);
    }
  }

  @Test
  void call_whenTheCommandFailsLater_thenFailsWithBackendUnavailable() {
    CompletableFuture<String> later = new CompletableFuture<>();
    CompletableFuture<String> f = RedisErrors.call(() -> later).toCompletableFuture();
    later.completeExceptionally(new RedisConnectionException("connection reset"));
    assertThat(failure(f).code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
  }

  @Test
  void call_whenAStoreExceptionComesBack_thenPassesItThroughUnchanged() {
    StoreException busy = new StoreException(ErrorCode.SERVER_BUSY, "full");
    CompletableFuture<String> f =
        RedisErrors.call(() -> CompletableFuture.<String>failedFuture(busy)).toCompletableFuture();
    assertThat(failure(f)).isSameAs(busy);
  }

  @Test
  void call_whenTheCommandAnswers_thenAnswersTheSame() {
    CompletableFuture<String> f =
        RedisErrors.call(() -> CompletableFuture.completedFuture("PONG")).toCompletableFuture();
    assertThat(f.join()).isEqualTo("PONG");
  }

  @Test
  void answered_findsRedisErrorCodesAmongTheCauses_andNothingElse() {
    Throwable tryAgain =
        RedisErrors.unavailable(
            new io.lettuce.core.RedisCommandExecutionException(
                "TRYAGAIN Multiple keys request during rehashing of slot"));
    assertThat(RedisErrors.answered(tryAgain, "TRYAGAIN")).isTrue();
    assertThat(RedisScript.halfMoved(tryAgain)).isTrue();
    assertThat(SpreadCalls.refused(tryAgain)).isFalse();
    Throwable spread =
        new CompletionException(new io.lettuce.core.RedisCommandExecutionException("SPREAD x"));
    assertThat(SpreadCalls.refused(spread)).isTrue();
    assertThat(RedisScript.halfMoved(spread)).isFalse();
    // The same words from anything but Redis are not Redis's answer.
    assertThat(RedisErrors.answered(new IllegalStateException("TRYAGAIN"), "TRYAGAIN")).isFalse();
  }
}
