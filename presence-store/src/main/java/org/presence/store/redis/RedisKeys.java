package org.presence.store.redis;

/**
 * Every Redis key and pub/sub channel name Presence uses, under one configurable prefix, so that
 * several deployments (or test classes) can share a Redis without seeing each other's data.
 */
public final class RedisKeys {
  private final String prefix;

  public RedisKeys(String prefix) {
    this.prefix = prefix;
  }

  /** The prefix, for example {@code presence:}. */
  public String prefix() {
    return prefix;
  }

  /** The Redis name of bus channel {@code channel}. */
  public String channel(String channel) {
    return prefix + "ch:" + channel;
  }

  /** The bus channel name for a Redis channel name, or {@code null} if it is not one of ours. */
  public String unchannel(String redisChannel) {
    String p = prefix + "ch:";
    return redisChannel.startsWith(p) ? redisChannel.substring(p.length()) : null;
  }

  /** The hash of user {@code userSub}'s devices and published presence views. */
  public String presence(String userSub) {
    return prefix + "pres:" + userSub;
  }

  /** An arbitrary key under the prefix; stores add their own typed helpers next to this. */
  public String key(String name) {
    return prefix + name;
  }
}
