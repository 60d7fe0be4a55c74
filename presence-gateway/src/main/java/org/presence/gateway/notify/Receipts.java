package org.presence.gateway.notify;

import com.codahale.metrics.Counter;
import java.util.Locale;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.app.AppCodec;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.store.bus.PresenceBus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes receipts of live notifications whose sender asked for them ({@code "receipts": true})
 * on bus channel {@code receipts:<appId>}, one JSON object per message: {@code {"id":
 * "<notification id>", "UID": "<puid>", "state": "delivered", "at": <epoch ms>}}. The update
 * channel (issue 5) forwards them to the application's connections as {@code {"receipts": [...]}}.
 *
 * <p>States: {@link State#DELIVERED} (written to a device before its ttl), {@link State#MISSED}
 * (written after it, flagged missed), {@link State#ACTED} and {@link State#DISMISSED} (the user's
 * first answer on a device). The bus delivers at most once: a receipt lost with the bus is not sent
 * again (counted in {@code presence.notifications.receipts.failed}).
 *
 * <p>Whether a receipt may go at all (the PUID's grant active; for {@code delivered} and {@code
 * missed}, the writing session's device showing the application a presence) is decided by {@link
 * NotificationDelivery} before it calls {@link #publish}.
 */
public final class Receipts {
  private static final Logger LOG = LoggerFactory.getLogger(Receipts.class);

  /** What happened to a notification. */
  public enum State {
    DELIVERED,
    MISSED,
    ACTED,
    DISMISSED;

    /** The wire value. */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final PresenceBus bus;
  private final Counter published;
  private final Counter failed;

  Receipts(PresenceBus bus, GatewayMetrics metrics) {
    this.bus = bus;
    this.published = metrics.registry().counter("presence.notifications.receipts.published");
    this.failed = metrics.registry().counter("presence.notifications.receipts.failed");
  }

  /**
   * The bus channel of application {@code appId}'s receipts: the one definition, also used by the
   * update channel's subscriber; messages are {@link AppCodec#encodeReceipt}.
   */
  public static String channel(long appId) {
    return "receipts:" + appId;
  }

  /** Publishes one receipt; never fails (a failure is logged and counted). */
  void publish(long appId, String id, String puid, State state, long atMillis) {
    bus.publish(
            channel(appId),
            AppCodec.encodeReceipt(new Receipt(id, puid, state.wireName(), atMillis)))
        .whenComplete(
            (v, e) -> {
              if (e == null) {
                published.inc();
              } else {
                failed.inc();
                LOG.warn("receipt of notification {} for app {} lost: {}", id, appId, e.toString());
              }
            });
  }
}
