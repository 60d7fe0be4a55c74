package org.presence.store.redis;

import io.lettuce.core.cluster.SlotHash;

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

  /**
   * The heartbeat's write key in {@code slot} ({@code 0} to {@code 16383}): {@code
   * <prefix>health:{<tag>}}, the tag one whose keys are in that slot ({@link SlotTags}). On a Redis
   * Cluster the heartbeat writes one per primary, in a slot the primary holds; on one Redis it
   * writes {@code <prefix>health}.
   */
  public String health(int slot) {
    return prefix + "health:{" + SlotTags.TAGS[slot] + "}";
  }

  /**
   * For each Redis Cluster slot, the first of the strings {@code 0}, {@code 1}, … (base 36) that
   * hashes to it: a key tagged with it is in that slot. About 170,000 strings are hashed, once.
   */
  private static final class SlotTags {
    static final String[] TAGS = tags();

    private static String[] tags() {
      String[] tags = new String[SlotHash.SLOT_COUNT];
      int left = tags.length;
      // Every slot has a string among the first few hundred thousand; the bound is far above.
      for (int i = 0; left > 0 && i < 1 << 24; i++) {
        String tag = Integer.toString(i, 36);
        int slot = SlotHash.getSlot(tag);
        if (tags[slot] == null) {
          tags[slot] = tag;
          left--;
        }
      }
      if (left > 0) {
        throw new IllegalStateException(left + " slots without a tag");
      }
      return tags;
    }
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
