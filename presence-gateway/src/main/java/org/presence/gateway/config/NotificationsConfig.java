package org.presence.gateway.config;

import java.time.Duration;
import java.util.List;

/**
 * Live notifications (wiki section 6, {@code POST /<appid>/notification} and their delivery to
 * devices). Defaults are in {@code presence-defaults.conf}; {@code docs/notifications.md} explains
 * each from the application's and the device's side.
 *
 * @param maxBatch most items in one batch ({@code BATCH_TOO_LARGE} beyond)
 * @param maxBodyBytes largest batch body ({@code PAYLOAD_TOO_LARGE} beyond)
 * @param defaultTtl ttl of an item that names none
 * @param rate items per second one application may post to one node (token bucket refill)
 * @param burst items one application may post at once (bucket size)
 * @param actionSchemes URI schemes an item's action may use, lower case
 * @param maxTracked delivered notifications a node remembers for the devices' answers (until their
 *     ttl); beyond it the oldest are forgotten
 * @param frameItems most notifications in one pushed frame; more are sent in several frames
 * @param puidCache PUID to grant cache in front of the grants table
 */
public record NotificationsConfig(
    int maxBatch,
    int maxBodyBytes,
    Duration defaultTtl,
    double rate,
    int burst,
    List<String> actionSchemes,
    int maxTracked,
    int frameItems,
    CachesConfig.Spec puidCache) {
  /** Shortest ttl an item may ask for. */
  public static final Duration MIN_TTL = Duration.ofSeconds(5);

  /** Longest ttl an item may ask for. */
  public static final Duration MAX_TTL = Duration.ofHours(1);

  /** Most characters in a message or an action (the wiki's 512). */
  public static final int MAX_TEXT_LENGTH = 512;

  /** Schemes never allowed in an action, whatever the configuration says. */
  public static final List<String> FORBIDDEN_SCHEMES =
      List.of("javascript", "data", "vbscript", "file", "blob", "about", "filesystem");

  public NotificationsConfig {
    actionSchemes = List.copyOf(actionSchemes);
  }
}
