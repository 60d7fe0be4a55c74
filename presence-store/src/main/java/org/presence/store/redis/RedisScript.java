package org.presence.store.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A Lua script run with {@code EVALSHA}, falling back to {@code EVAL} (which loads it again) when
 * Redis answers {@code NOSCRIPT} — after a restart or a {@code SCRIPT FLUSH}.
 */
public final class RedisScript {
  private final String body;
  private final String sha;

  public RedisScript(String body, RedisAsyncCommands<String, byte[]> commands) {
    this.body = body;
    this.sha = commands.digest(body);
  }

  /** Runs the script; the result's shape depends on {@code type}. */
  public <T> CompletionStage<T> run(
      RedisAsyncCommands<String, byte[]> commands,
      ScriptOutputType type,
      String[] keys,
      byte[]... args) {
    CompletableFuture<T> result = new CompletableFuture<>();
    commands
        .<T>evalsha(sha, type, keys, args)
        .whenComplete(
            (v, e) -> {
              if (e == null) {
                result.complete(v);
              } else if (isNoScript(e)) {
                commands.<T>eval(body, type, keys, args).whenComplete(
                    (v2, e2) -> {
                      if (e2 == null) {
                        result.complete(v2);
                      } else {
                        result.completeExceptionally(e2);
                      }
                    });
              } else {
                result.completeExceptionally(e);
              }
            });
    return result;
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
