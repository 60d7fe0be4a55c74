package org.presence.gateway.notify;

import com.codahale.metrics.Counter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.trace.Tracing;
import org.presence.protocol.api.NotificationBatchCodec.Ack;
import org.presence.protocol.api.NotificationBatchCodec.Item;
import org.presence.protocol.api.NotificationBatchCodec.ItemResult;
import org.presence.protocol.api.NotificationBatchCodec.Judged;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.app.Application;
import org.presence.store.error.RateLimitedLog;
import org.presence.store.permission.PuidRecord;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The business rules of posting live notifications (wiki section 6), without HTTP: a judged batch
 * from an authenticated, active application goes in; the acknowledgement comes out once every
 * accepted item is durably stored. Items are judged one by one, in this order:
 *
 * <ol>
 *   <li>malformed items keep the error the codec gave them ({@code INVALID_NOTIFICATION});
 *   <li>the application's rate limit: well-formed items beyond its bucket get {@code
 *       APP_RATE_LIMITED};
 *   <li>the PUID: unknown, or another application's, is {@code UNKNOWN_PUID}; a paused grant {@code
 *       GRANT_PAUSED}; a revoked one {@code GRANT_REVOKED};
 *   <li>the rest are stored in one call, each in its (user, app) queue, with the application's id
 *       and its name as {@code source}; the store refuses those beyond what the application may
 *       have queued ({@code notifications.max-queued-per-app}): {@code APP_QUEUE_FULL}.
 * </ol>
 *
 * A store failure fails the whole batch (nothing was acknowledged, and the store's batch is
 * atomic). The stored items then go to the user's connected devices ({@link NotificationDelivery}),
 * without holding up the acknowledgement; on Redis the store call itself finds the devices and
 * wakes their nodes ({@link NotificationDelivery#enqueueAndWake}).
 */
public final class NotificationService {
  private static final Logger LOG = LoggerFactory.getLogger(NotificationService.class);

  /** An application at its queued limit: logged once a minute at most, whichever application. */
  private static final RateLimitedLog QUEUE_FULL_LOG =
      new RateLimitedLog(LOG, Duration.ofMinutes(1));

  private final Enqueuer queues;
  private final java.util.concurrent.Executor work;
  private final PuidDirectory puids;
  private final AppRateLimiter limiter;
  private final NotificationDelivery delivery;
  private final Duration defaultTtl;
  private final Clock clock;
  private final Counter accepted;
  private final Counter refused;
  private final Counter queueFull;
  private final Tracing tracing;

  NotificationService(
      Enqueuer queues,
      java.util.concurrent.Executor work,
      PuidDirectory puids,
      AppRateLimiter limiter,
      NotificationDelivery delivery,
      Duration defaultTtl,
      Clock clock,
      GatewayMetrics metrics) {
    this.queues = queues;
    this.work = work;
    this.puids = puids;
    this.limiter = limiter;
    this.delivery = delivery;
    this.defaultTtl = defaultTtl;
    this.clock = clock;
    this.accepted = metrics.registry().counter("presence.notifications.accepted");
    this.refused = metrics.registry().counter("presence.notifications.refused");
    this.queueFull = metrics.registry().counter("presence.notifications.app_queue_full");
    this.tracing = metrics.tracing();
  }

  /** Whether {@code app} may post now (its bucket holds a token). */
  boolean mayPost(Application app) {
    return limiter.hasTokens(app.id());
  }

  /** Seconds until {@code app} may post again. */
  long retryAfterSeconds(Application app) {
    return limiter.retryAfterSeconds(app.id());
  }

  /** Judges and stores {@code batch} from {@code app}; completes with its acknowledgement. */
  public CompletionStage<Ack> accept(Application app, List<Judged> batch) {
    if (!tracing.enabled()) {
      return accept(app, batch, null);
    }
    // notification.accept (a child of the request's span, current here): the rate limit, the PUIDs
    // and the store call; its notification.enqueue child is the store call alone.
    Span span =
        tracing
            .tracer()
            .spanBuilder("notification.accept")
            .setAttribute("presence.app_id", app.id())
            .setAttribute("presence.notifications.items", batch.size())
            .startSpan();
    Context context = Context.current().with(span);
    return accept(app, batch, context)
        .whenComplete(
            (ack, e) -> {
              if (e != null) {
                span.setStatus(StatusCode.ERROR);
              }
              span.end();
            });
  }

  private CompletionStage<Ack> accept(Application app, List<Judged> batch, Context traced) {
    int n = batch.size();
    ItemResult[] results = new ItemResult[n];
    List<Integer> wellFormed = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Judged j = batch.get(i);
      if (j.ok()) {
        wellFormed.add(i);
      } else {
        results[i] = ItemResult.refused(j.error().code(), j.error().detail());
      }
    }
    // One take for the whole batch (in a cluster: one Redis call, not one per item), continued
    // off the Redis connection's thread when it had to ask.
    CompletableFuture<Integer> granted =
        limiter.take(app.id(), wellFormed.size()).toCompletableFuture();
    return granted.isDone()
        ? granted.thenCompose(g -> admit(app, batch, results, wellFormed, g, traced))
        : granted.thenComposeAsync(g -> admit(app, batch, results, wellFormed, g, traced), work);
  }

  private CompletionStage<Ack> admit(
      Application app,
      List<Judged> batch,
      ItemResult[] results,
      List<Integer> wellFormed,
      int granted,
      Context traced) {
    List<Integer> admitted = wellFormed.subList(0, granted);
    for (int k = granted; k < wellFormed.size(); k++) {
      results[wellFormed.get(k)] = ItemResult.refused(ErrorCode.APP_RATE_LIMITED, null);
    }
    List<String> uids = new ArrayList<>(admitted.size());
    for (int i : admitted) {
      uids.add(batch.get(i).item().uid());
    }
    return puids
        .resolve(uids)
        .thenCompose(
            found -> {
              Instant now = clock.instant();
              List<NotificationQueues.Entry> entries = new ArrayList<>();
              List<Integer> positions = new ArrayList<>();
              for (int i : admitted) {
                Item item = batch.get(i).item();
                PuidRecord r = found.get(item.uid());
                ErrorCode refusal =
                    r == null
                        ? ErrorCode.UNKNOWN_PUID
                        : switch (r.stateFor(app.id())) {
                          case ACTIVE -> null;
                          case PAUSED -> ErrorCode.GRANT_PAUSED;
                          case REVOKED -> ErrorCode.GRANT_REVOKED;
                          case UNKNOWN -> ErrorCode.UNKNOWN_PUID;
                        };
                if (refusal != null) {
                  results[i] = ItemResult.refused(refusal, null);
                  continue;
                }
                Duration ttl =
                    item.ttlSeconds() == null ? defaultTtl : Duration.ofSeconds(item.ttlSeconds());
                entries.add(
                    new NotificationQueues.Entry(
                        r.userSub(),
                        new Notification(
                            NotificationIds.next(),
                            app.id(),
                            item.uid(),
                            app.name(),
                            item.message(),
                            item.action(),
                            now,
                            now.plus(ttl),
                            item.receipts())));
                positions.add(i);
              }
              if (entries.isEmpty()) {
                return CompletableFuture.completedFuture(finish(results));
              }
              Span enqueue =
                  traced == null
                      ? null
                      : tracing
                          .tracer()
                          .spanBuilder("notification.enqueue")
                          .setParent(traced)
                          .setAttribute("presence.notifications.items", entries.size())
                          .startSpan();
              CompletionStage<List<NotificationQueues.Enqueued>> stored = queues.enqueue(entries);
              if (enqueue != null) {
                stored =
                    stored.whenComplete(
                        (r, e) -> {
                          if (e != null) {
                            enqueue.setStatus(StatusCode.ERROR);
                          }
                          enqueue.end();
                        });
              }
              // Off the store's thread (a Redis connection's only I/O thread, say).
              return stored.thenApplyAsync(
                  enqueued -> {
                    List<NotificationQueues.Entry> kept = new ArrayList<>(entries.size());
                    int full = 0;
                    for (int k = 0; k < entries.size(); k++) {
                      NotificationQueues.Enqueued e = enqueued.get(k);
                      if (!e.stored()) {
                        results[positions.get(k)] =
                            ItemResult.refused(ErrorCode.APP_QUEUE_FULL, null);
                        full++;
                        continue;
                      }
                      kept.add(entries.get(k));
                      results[positions.get(k)] =
                          ItemResult.stored(
                              entries.get(k).notification().id(),
                              e.queueSize(),
                              e.dropped().stream().map(Notification::id).toList());
                    }
                    if (full > 0) {
                      queueFull.inc(full);
                      QUEUE_FULL_LOG.warn(
                          "application "
                              + app.id()
                              + " has notifications.max-queued-per-app items queued: "
                              + full
                              + " of its items refused (errno 174) in one batch; its users do not"
                              + " connect, or it posts more than they take (docs/notifications.md)");
                    }
                    if (!queues.wakes() && !kept.isEmpty()) {
                      delivery.stored(kept);
                    }
                    return finish(results);
                  },
                  work);
            });
  }

  private Ack finish(ItemResult[] results) {
    Ack ack = Ack.of(List.of(results));
    int stored = ack.stored();
    accepted.inc(stored);
    refused.inc(results.length - stored);
    return ack;
  }
}
