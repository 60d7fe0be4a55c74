package org.presence.store.redis;

import java.util.concurrent.CompletionException;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.StoreException;

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
}
