package org.presence.store.redis;

import io.lettuce.core.RedisException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;

/** Turns Lettuce failures into what callers answer with: {@code BACKEND_UNAVAILABLE}. */
public final class RedisErrors {
  private RedisErrors() {}

  /**
   * A {@link CompletionException} wrapping a {@link StoreException} ({@code BACKEND_UNAVAILABLE})
   * for {@code e}, or for its cause when {@code e} is itself a {@code CompletionException}; a
   * {@code StoreException} passes through unchanged.
   */
  public static CompletionException unavailable(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof StoreException) {
      return new CompletionException(cause);
    }
    return new CompletionException(
        new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "redis: " + cause.getMessage(), cause));
  }

  /**
   * Whether {@code e}, or one of its causes, is Redis's error answer starting with {@code prefix}
   * (its error code, such as {@code TRYAGAIN}, or a script's own, such as {@code SPREAD}).
   */
  public static boolean answered(Throwable e, String prefix) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RedisException
          && t.getMessage() != null
          && t.getMessage().startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sends a Redis command and answers what it answers, with every failure, whether Lettuce throws
   * at once (not connected) or the command fails later, turned into {@link #unavailable}.
   */
  public static <T> CompletionStage<T> call(Supplier<? extends CompletionStage<T>> command) {
    try {
      return command
          .get()
          .handle(
              (v, e) -> {
                if (e != null) {
                  throw unavailable(e);
                }
                return v;
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(unavailable(e));
    }
  }
}
