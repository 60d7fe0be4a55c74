package org.presence.store.redis;

import dev.failsafe.Failsafe;
import dev.failsafe.RetryPolicy;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A Lua script run with {@code EVALSHA}, falling back to {@code EVAL} (which loads it again) when
 * Redis answers {@code NOSCRIPT} — after a restart or a {@code SCRIPT FLUSH}, or on a Redis Cluster
 * node that has not run it yet (a replica just promoted, a new primary). On a Redis Cluster, a call
 * over several keys of a slot that is being moved to another primary (a reshard) is refused while
 * its keys are apart ({@code TRYAGAIN}, nothing run): it goes again after a short wait ({@link
 * #WHILE_HALF_MOVED}), unless the script was made with {@link #oneTry}. Failures come back as
 * {@code BACKEND_UNAVAILABLE} store exceptions ({@link RedisErrors}).
 */
public final class RedisScript {
  /**
   * How long a call refused because its slot is half moved ({@link #halfMoved}) is made again:
   * after 10 ms, then after waits doubling up to 200 ms, each up to a fifth shorter or longer at
   * random (Failsafe's jitter), for at most 5 s from the first try. A reshard moves a slot's keys
   * in batches of a few keys, a few milliseconds each, so the keys of one call are seldom apart for
   * long.
   */
  private static final RetryPolicy<Object> WHILE_HALF_MOVED =
      RetryPolicy.builder()
          .handleIf(RedisScript::halfMoved)
          .withBackoff(Duration.ofMillis(10), Duration.ofMillis(200))
          .withJitter(0.2)
          .withMaxRetries(-1)
          .withMaxDuration(Duration.ofSeconds(5))
          .build();

  private final RedisClusterAsyncCommands<String, byte[]> commands;
  private final String body;
  private final String sha;
  private final boolean againWhileHalfMoved;

  public RedisScript(String body, RedisClusterAsyncCommands<String, byte[]> commands) {
    this(body, commands, true);
  }

  private RedisScript(
      String body,
      RedisClusterAsyncCommands<String, byte[]> commands,
      boolean againWhileHalfMoved) {
    this.commands = commands;
    this.body = body;
    this.sha = commands.digest(body);
    this.againWhileHalfMoved = againWhileHalfMoved;
  }

  /**
   * A script whose calls are made once: a call refused because its slot is half moved fails at once
   * ({@link #halfMoved}), for a caller that has a better way round it than waiting.
   */
  public static RedisScript oneTry(
      String body, RedisClusterAsyncCommands<String, byte[]> commands) {
    return new RedisScript(body, commands, false);
  }

  /**
   * Whether {@code e} is Redis's refusal of a call over several keys of one slot while that slot is
   * half moved to another primary ({@code TRYAGAIN}): some of the keys are on the old primary, the
   * others on the new. Nothing was run.
   */
  public static boolean halfMoved(Throwable e) {
    return RedisErrors.answered(e, "TRYAGAIN");
  }

  /**
   * Runs the script; the result's shape depends on {@code type}. The first try is made at once, on
   * the caller's thread.
   */
  public <T> CompletableFuture<T> run(ScriptOutputType type, String[] keys, byte[]... args) {
    return run(commands, type, keys, args);
  }

  /**
   * {@link #run} on {@code on} (see {@link #runOn}), going again on it while the slot is half moved
   * (unless the script was made with {@link #oneTry}).
   */
  public <T> CompletableFuture<T> run(
      RedisClusterAsyncCommands<String, byte[]> on,
      ScriptOutputType type,
      String[] keys,
      byte[]... args) {
    CompletableFuture<T> first = runOn(on, type, keys, args);
    if (!againWhileHalfMoved) {
      return first;
    }
    return first.exceptionallyCompose(
        e ->
            halfMoved(e)
                // The failed first try is the policy's first attempt: it waits before the second.
                ? Failsafe.with(WHILE_HALF_MOVED)
                    .getStageAsync(c -> c.isFirstAttempt() ? first : runOn(on, type, keys, args))
                : CompletableFuture.failedFuture(e));
  }

  /**
   * Runs the script on {@code on}: the shared connection, or one Redis Cluster node's own
   * connection, which answers a redirection as an error instead of following it ({@link
   * SpreadCalls}); on {@code NOSCRIPT} it loads the script on the same connection.
   */
  public <T> CompletableFuture<T> runOn(
      RedisClusterAsyncCommands<String, byte[]> on,
      ScriptOutputType type,
      String[] keys,
      byte[]... args) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      on.<T>evalsha(sha, type, keys, args)
          .whenComplete(
              (v, e) -> {
                if (e == null) {
                  result.complete(v);
                } else if (isNoScript(e)) {
                  evalAgain(on, result, type, keys, args);
                } else {
                  result.completeExceptionally(RedisErrors.unavailable(e).getCause());
                }
              });
    } catch (RedisException e) {
      result.completeExceptionally(RedisErrors.unavailable(e).getCause());
    }
    return result;
  }

  private <T> void evalAgain(
      RedisClusterAsyncCommands<String, byte[]> on,
      CompletableFuture<T> result,
      ScriptOutputType type,
      String[] keys,
      byte[]... args) {
    try {
      on.<T>eval(body, type, keys, args)
          .whenComplete(
              (v, e) -> {
                if (e == null) {
                  result.complete(v);
                } else {
                  result.completeExceptionally(RedisErrors.unavailable(e).getCause());
                }
              });
    } catch (RedisException e) {
      result.completeExceptionally(RedisErrors.unavailable(e).getCause());
    }
  }

  private static boolean isNoScript(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RedisNoScriptException
          || (t.getMessage() != null && t.getMessage().startsWith("NOSCRIPT"))) {
        return true;
      }
    }
    return false;
  }
}
