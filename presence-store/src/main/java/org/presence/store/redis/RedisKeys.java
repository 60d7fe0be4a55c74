package org.presence.store.redis;

/**
 * Every Redis key and pub/sub channel name Presence uses, under one configurable prefix, so that
 * several deployments (or test classes) can share a Redis without seeing each other's data.
 *
 * <p>Every key a script touches carries a hash tag (the part in braces, which alone decides the
 * key's slot on a Redis Cluster), so that each script call touches one slot:
 *
 * <ul>
 *   <li>a user's keys (presence hash, notification queues): {@code <prefix><kind>:{u:<user>}...};
 *   <li>an application's keys (update log, sequence, guards, webhook state) and its update channel:
 *       {@code <prefix><kind>:{a:<appId>}...};
 *   <li>small shared structures whose scripts read keys of many nodes or applications, each under
 *       one tag of its own ({@link #group}): the node registry (leases, node set, clean-ups) under
 *       {@code {nodes}}, the per-application connection counts and their node leases under {@code
 *       {conns}}, the webhook senders' leases, cursors and pending set under {@code {webhooks}};
 *   <li>a rate bucket: {@code <prefix>rate:{r:<name>:<key>}}.
 * </ul>
 *
 * <p>On one Redis the tags are only part of the names. The prefix itself must not contain braces,
 * or its tag would put every key in one slot.
 */
public final class RedisKeys {
  private final String prefix;

  public RedisKeys(String prefix) {
    if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
      throw new IllegalArgumentException("the Redis key prefix must not contain { or }: " + prefix);
    }
    this.prefix = prefix;
  }

  /** The prefix, for example {@code presence:}. */
  public String prefix() {
    return prefix;
  }

  /** The hash tag of user {@code user}'s keys, braces included. */
  public static String userTag(String user) {
    return "{u:" + user + "}";
  }

  /** The hash tag of application {@code appId}'s keys and update channel, braces included. */
  public static String appTag(long appId) {
    return "{a:" + appId + "}";
  }

  /**
   * The Redis name of bus channel {@code channel}: {@code <prefix>ch:<channel>} when the name
   * carries a hash tag (an application's update channel carries its {@link #appTag}, so that the
   * update-log script may publish on it), else {@code <prefix>ch:{<channel>}}.
   */
  public String channel(String channel) {
    return channel.indexOf('{') >= 0 ? prefix + "ch:" + channel : prefix + "ch:{" + channel + "}";
  }

  /** The bus channel name for a Redis channel name, or {@code null} if it is not one of ours. */
  public String unchannel(String redisChannel) {
    String p = prefix + "ch:";
    if (!redisChannel.startsWith(p)) {
      return null;
    }
    String channel = redisChannel.substring(p.length());
    if (channel.startsWith("{") && channel.endsWith("}") && channel.indexOf('{', 1) < 0) {
      return channel.substring(1, channel.length() - 1);
    }
    return channel;
  }

  /** The hash of user {@code userSub}'s devices and published presence views. */
  public String presence(String userSub) {
    return user("pres", userSub);
  }

  /** Key {@code <prefix><kind>:{u:<user>}}, in user {@code user}'s slot. */
  public String user(String kind, String user) {
    return prefix + kind + ":" + userTag(user);
  }

  /** Key {@code <prefix><kind>:{a:<appId>}}, in application {@code appId}'s slot. */
  public String app(String kind, long appId) {
    return prefix + kind + ":" + appTag(appId);
  }

  /**
   * Key {@code <prefix><kind>:{<group>}<rest>}: all keys of {@code group} share one slot, so one
   * script may read any of them (the node registry's are {@code nodes}).
   */
  public String group(String group, String kind, String rest) {
    return prefix + kind + ":{" + group + "}" + rest;
  }

  /** An arbitrary key under the prefix, used alone (never with other keys in one call). */
  public String key(String name) {
    return prefix + name;
  }
}
