package org.presence.store.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.Causes;
import org.presence.store.error.RateLimitedLog;
import org.presence.store.error.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns Lettuce failures into what callers answer with: {@code BACKEND_UNAVAILABLE}, with {@link
 * #UNAVAILABLE} or, for a Redis at its {@code maxmemory}, {@link #FULL}.
 */
public final class RedisErrors {
  private static final Logger LOG = LoggerFactory.getLogger(RedisErrors.class);

  /** The reason's detail of every Redis failure: fixed, what a client may see. */
  public static final String UNAVAILABLE = "redis unavailable";

  /**
   * The reason's detail when Redis refused a write because it is at its {@code maxmemory} (with
   * {@code maxmemory-policy noeviction}: its {@code OOM} error answer), so that operators and
   * clients can tell a full Redis from one that does not answer (probe s33 F6).
   */
  public static final String FULL = "Redis is full (maxmemory)";

  /** How often a full Redis is logged, however many calls it refuses meanwhile. */
  static final Duration FULL_LOG_EVERY = Duration.ofMinutes(1);

  private static final RateLimitedLog FULL_LOG = new RateLimitedLog(LOG, FULL_LOG_EVERY);

  private static final java.util.concurrent.atomic.AtomicLong FULL_REFUSALS =
      new java.util.concurrent.atomic.AtomicLong();

  /** How often a Redis that does not answer is logged, however many calls fail meanwhile. */
  static final Duration LOG_EVERY = Duration.ofSeconds(10);

  private static final RateLimitedLog FAILED = new RateLimitedLog(LOG, LOG_EVERY);

  private RedisErrors() {}

  /**
   * A {@link CompletionException} wrapping a {@link StoreException} ({@code BACKEND_UNAVAILABLE},
   * {@link #UNAVAILABLE}) for {@code e}, or for its cause when {@code e} is itself a {@code
   * CompletionException}; a {@code StoreException} passes through unchanged.
   *
   * <p>Lettuce's message ("Unable to connect to 127.0.0.1:6379", "Command timed out after 1
   * second(s)") names hosts, ports and the library: it stays in the cause, never in the reason a
   * client gets, and goes to the log instead: a Redis that does not answer at WARN, at most once
   * per {@link #LOG_EVERY} with how many failed since, Redis's own error answers ({@code TRYAGAIN},
   * {@code NOSCRIPT}, a script's refusal, which callers mostly handle) at DEBUG.
   */
  public static CompletionException unavailable(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof StoreException) {
      return new CompletionException(cause);
    }
    String detail = StoreConfig.redact(Causes.innermostMessage(cause)).replace('\n', ' ');
    if (full(cause)) {
      FULL_REFUSALS.incrementAndGet();
      FULL_LOG.warn(
          "Redis is full (maxmemory): it refuses writes ("
              + detail
              + "); raise its maxmemory or free memory (docs/operations.md)");
      return new CompletionException(
          new StoreException(ErrorCode.BACKEND_UNAVAILABLE, FULL, cause));
    }
    if (cause instanceof RedisCommandExecutionException) {
      LOG.debug("redis answered an error: {}", detail);
    } else {
      FAILED.warn("redis call failed: " + detail);
    }
    return new CompletionException(
        new StoreException(ErrorCode.BACKEND_UNAVAILABLE, UNAVAILABLE, cause));
  }

  /**
   * Whether {@code e}, or one of its causes, is Redis's refusal of a write at its {@code maxmemory}
   * ({@code OOM command not allowed when used memory > 'maxmemory'}), answered to a command or
   * raised inside a script.
   */
  public static boolean full(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t instanceof RedisException ? t.getMessage() : null;
      if (m != null && (m.startsWith("OOM ") || m.contains("OOM command not allowed"))) {
        return true;
      }
    }
    return false;
  }

  /** Calls refused by a full Redis ({@link #full}) in this process since it started. */
  public static long fullRefusals() {
    return FULL_REFUSALS.get();
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
