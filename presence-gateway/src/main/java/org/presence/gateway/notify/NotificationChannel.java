package org.presence.gateway.notify;

import com.codahale.metrics.Gauge;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.apps.AppFeatures;
import org.presence.gateway.config.NotificationsConfig;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.device.DeviceChannel;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.permission.GrantService;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.store.Store;
import org.presence.store.exec.StoreExecutors;
import org.presence.store.queue.Notification;
import org.presence.store.queue.RedisNotificationQueues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live notifications of a node (wiki section 6), wired in one place: the API route {@value
 * NotificationApi#PATH}, the service behind it, the delivery to the device channel's sessions, the
 * answers devices give and the receipts applications get. {@code PresenceServer} starts it after
 * the device channel and closes it before the store.
 */
public final class NotificationChannel implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NotificationChannel.class);

  /** How often delivered notifications past their ttl are forgotten. */
  private static final long SWEEP_SECONDS = 5;

  /** How often answer claims past their notification's ttl are purged from the store. */
  private static final long PURGE_SECONDS = 60;

  private final NotificationService service;
  private final NotificationDelivery delivery;
  private final ScheduledExecutorService timer;
  private final ExecutorService work;

  private NotificationChannel(
      NotificationService service,
      NotificationDelivery delivery,
      ScheduledExecutorService timer,
      ExecutorService work) {
    this.service = service;
    this.delivery = delivery;
    this.timer = timer;
    this.work = work;
  }

  /**
   * Builds the feature, subscribes the node to its wake-ups (waiting for it: this runs at start-up,
   * not on an event loop), attaches it to the device channel and adds the route.
   */
  public static NotificationChannel start(
      PresenceConfig config,
      Store store,
      AppFeatures apps,
      DeviceChannel devices,
      GatewayMetrics metrics,
      HttpRoutes.Builder routes) {
    NotificationsConfig c = config.notifications();
    Clock clock = Clock.systemUTC();
    ThreadPoolExecutor work = workPool();
    ResponseTracker tracker = new ResponseTracker(c.maxTracked());
    PuidDirectory puids =
        new PuidDirectory(store.persistence().grants(), c.puidCache(), apps.invalidations());
    NotificationDelivery delivery =
        new NotificationDelivery(
            config.nodeId(),
            store.notifications(),
            store.presence(),
            store.bus(),
            devices.registry(),
            tracker,
            new Receipts(store.bus(), metrics),
            puids::resolve,
            new Remover(store.notifications(), 200, 4),
            clock,
            work,
            metrics);
    NotificationService service =
        new NotificationService(
            store.notifications() instanceof RedisNotificationQueues redis
                ? new Enqueuer(all -> delivery.enqueueAndWake(redis, all), true, 2000, 2)
                : new Enqueuer(store.notifications(), 2000, 2),
            work,
            puids,
            new AppRateLimiter(store.tokenBuckets("notify", c.rate(), c.burst())),
            delivery,
            c.defaultTtl(),
            clock,
            metrics);
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "notification-timer");
              t.setDaemon(true);
              return t;
            });
    try {
      delivery.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      timer.shutdownNow();
      work.shutdownNow();
      throw new IllegalStateException("cannot subscribe to notification wake-ups: " + e, e);
    }
    scheduleSweeps(timer, tracker, store, clock);
    dropQueuedItemsOfStoppedGrants(apps, store);
    devices.attach(delivery);
    new NotificationApi(apps.apiKeys(), service, codec(c), c.maxBodyBytes()).register(routes);
    metrics.registry().register("presence.notifications.tracked", (Gauge<Integer>) tracker::size);
    return new NotificationChannel(service, delivery, timer, work);
  }

  /**
   * The {@code notify-work-N} threads: the steps after a store call (acks, wake-ups, receipts) run
   * there, not on the store's threads; past its queue a step runs where the store completed it.
   */
  private static ThreadPoolExecutor workPool() {
    return new ThreadPoolExecutor(
        2,
        2,
        60,
        TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(100_000),
        StoreExecutors.named("notify-work-"),
        new ThreadPoolExecutor.CallerRunsPolicy());
  }

  /**
   * Forgets delivered notifications past their ttl every {@value #SWEEP_SECONDS} s and purges the
   * store's expired answer claims every {@value #PURGE_SECONDS} s.
   */
  private static void scheduleSweeps(
      ScheduledExecutorService timer, ResponseTracker tracker, Store store, Clock clock) {
    timer.scheduleWithFixedDelay(
        () -> tracker.sweep(clock.millis()), SWEEP_SECONDS, SWEEP_SECONDS, TimeUnit.SECONDS);
    timer.scheduleWithFixedDelay(
        () ->
            store
                .notifications()
                .purgeAnswers(clock.instant())
                .whenComplete(
                    (n, e) -> {
                      if (e != null) {
                        LOG.debug("expired answers not purged: {}", e.toString());
                      }
                    }),
        PURGE_SECONDS,
        PURGE_SECONDS,
        TimeUnit.SECONDS);
  }

  /**
   * What waits for a paused or revoked grant's PUID is never delivered (a resume does not bring it
   * back): its items leave the (user, app) queue, by id, before the user gets the answer; items of
   * the user's other PUIDs at the same application stay. A failure is logged, not refused: the
   * delivery drops such items anyway when it meets them ({@link NotificationDelivery}).
   */
  private static void dropQueuedItemsOfStoppedGrants(AppFeatures apps, Store store) {
    apps.grants()
        .listen(
            (change, g) ->
                change != GrantService.Change.REVOKED && change != GrantService.Change.PAUSED
                    ? CompletableFuture.completedFuture(null)
                    : dropQueuedItems(store, g.userSub(), g.appId(), g.puid())
                        .handle(
                            (dropped, e) -> {
                              if (e != null) {
                                LOG.warn(
                                    "queued items of a {} grant not dropped: {}",
                                    change.name().toLowerCase(Locale.ROOT),
                                    e.toString());
                              }
                              return null;
                            }));
  }

  /**
   * Removes {@code user}'s queued items sent to {@code puid} at {@code appId}, named by the items
   * just read ({@code removeDelivered}: on one Redis one call that also gives back their room).
   */
  private static CompletableFuture<?> dropQueuedItems(
      Store store, String user, long appId, String puid) {
    return store
        .notifications()
        .pending(user)
        .thenCompose(
            items -> {
              List<Notification> mine = new ArrayList<>();
              for (Notification n : items) {
                if (n.appId() == appId && n.puid().equals(puid)) {
                  mine.add(n);
                }
              }
              return mine.isEmpty()
                  ? CompletableFuture.completedFuture(Map.<String, List<Notification>>of())
                  : store.notifications().removeDelivered(Map.of(user, mine));
            })
        .toCompletableFuture();
  }

  /** The API's batch reader, with the configured limits. */
  private static NotificationBatchCodec codec(NotificationsConfig c) {
    return new NotificationBatchCodec(
        new NotificationBatchCodec.Limits(
            c.maxBatch(),
            NotificationsConfig.MAX_TEXT_LENGTH,
            (int) NotificationsConfig.MIN_TTL.toSeconds(),
            (int) NotificationsConfig.MAX_TTL.toSeconds(),
            new HashSet<>(c.actionSchemes()),
            c.maxBodyBytes()));
  }

  /** Posting notifications. */
  public NotificationService service() {
    return service;
  }

  /** Delivering them. */
  public NotificationDelivery delivery() {
    return delivery;
  }

  @Override
  public void close() {
    delivery.close();
    timer.shutdownNow();
    work.shutdown();
    try {
      work.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
