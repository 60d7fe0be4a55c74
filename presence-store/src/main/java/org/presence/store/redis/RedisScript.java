package org.presence.store.redis;

import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.concurrent.CompletableFuture;

/**
 * A Lua script run with {@code EVALSHA}, falling back to {@code EVAL} (which loads it again) when
 * Redis answers {@code NOSCRIPT} — after a restart or a {@code SCRIPT FLUSH}, or on a Redis Cluster
 * node that has not run it yet (a replica just promoted, a new primary). Failures come back as
 * {@code BACKEND_UNAVAILABLE} store exceptions ({@link RedisErrors}).
 */
public final class RedisScript {
  private final RedisClusterAsyncCommands<String, byte[]> commands;
  private final String body;
  private final String sha;

  public RedisScript(String body, RedisClusterAsyncCommands<String, byte[]> commands) {
    this.commands = commands;
    this.body = body;
    this.sha = commands.digest(body);
  }

  /** Runs the script; the result's shape depends on {@code type}. */
  public <T> CompletableFuture<T> run(ScriptOutputType type, String[] keys, byte[]... args) {
    return runOn(commands, type, keys, args);
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
