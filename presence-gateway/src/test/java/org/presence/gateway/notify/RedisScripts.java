package org.presence.gateway.notify;

import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;

/**
 * Has a Redis refuse scripts and {@code HGETALL} (the session lookups) to its default user (the
 * nodes'), as an ACL change does.
 */
final class RedisScripts {
  private RedisScripts() {}

  /**
   * {@code ACL SETUSER default -eval -evalsha ... -hgetall} when {@code refuse}, else {@code +@all}
   * (the default user's rights); the connection giving it keeps the right to do so.
   */
  static void refuse(RedisCommands<String, String> redis, boolean refuse) {
    CommandArgs<String, String> args =
        new CommandArgs<>(StringCodec.UTF8).add("SETUSER").add("default");
    if (refuse) {
      args.add("-eval").add("-evalsha").add("-eval_ro").add("-evalsha_ro").add("-hgetall");
    } else {
      args.add("+@all");
    }
    redis.dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8), args);
  }
}
