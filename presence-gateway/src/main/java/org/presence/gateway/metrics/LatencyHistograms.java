package org.presence.gateway.metrics;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import org.presence.store.metrics.StoreLatency;

/**
 * The node's latency histograms, as Prometheus histograms (classic buckets) in a registry of their
 * own that {@link PrometheusExporter} writes with the rest. Every label takes values from a fixed
 * set, so the number of series is bounded:
 *
 * <ul>
 *   <li>{@code presence_device_ack_seconds{outcome}}: a device's status frame to its answer (the
 *       state store's write), {@code ok} or {@code error};
 *   <li>{@code presence_update_delivery_seconds}: a presence change taken by the update log to the
 *       update's frame written to an application's connection on this node;
 *   <li>{@code presence_notification_delivery_seconds}: a live notification accepted to its frame
 *       written to the user's device;
 *   <li>{@code presence_database_call_seconds{outcome}}: database calls (with the wait for a
 *       database thread);
 *   <li>{@code presence_redis_command_seconds{command}}: Redis commands, by command name (the few
 *       the store sends), as Lettuce measures them;
 *   <li>{@code presence_webhook_call_seconds{outcome}}: webhook calls, by outcome: the status class
 *       ({@code 2xx} to {@code 5xx}) or why no answer came ({@code timeout}, {@code
 *       connect_failed}, ...).
 * </ul>
 */
public final class LatencyHistograms implements StoreLatency {
  private static final double[] FAST = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };
  private static final double[] SLOW = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300
  };

  /** Webhook outcomes that are not an HTTP status: the guarded client's failure kinds. */
  private static final String[] WEBHOOK_FAILURES = {
    "bad_url",
    "address_not_allowed",
    "unresolvable",
    "connect_failed",
    "timeout",
    "too_large",
    "redirect_refused",
    "protocol",
    "error"
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Histogram deviceAck;
  // The two series of device answers, looked up once: a lookup by label makes a list per call.
  private final DistributionDataPoint deviceAckOk;
  private final DistributionDataPoint deviceAckError;
  private final Histogram updateDelivery;
  private final Histogram notificationDelivery;
  private final Histogram database;
  private final Histogram redis;
  private final Histogram webhook;

  public LatencyHistograms() {
    deviceAck =
        histogram(
            "presence_device_ack_seconds",
            "Device status frame to its answer, by outcome.",
            FAST,
            "outcome");
    deviceAckOk = deviceAck.labelValues("ok");
    deviceAckError = deviceAck.labelValues("error");
    updateDelivery =
        histogram(
            "presence_update_delivery_seconds",
            "Presence change taken by the update log to the update written to an application.",
            FAST);
    notificationDelivery =
        histogram(
            "presence_notification_delivery_seconds",
            "Live notification accepted to written to the user's device.",
            SLOW);
    database =
        histogram(
            "presence_database_call_seconds",
            "Database calls, from submission to completion, by outcome.",
            FAST,
            "outcome");
    redis =
        histogram(
            "presence_redis_command_seconds",
            "Redis commands, written to completed, by command.",
            FAST,
            "command");
    webhook =
        histogram(
            "presence_webhook_call_seconds",
            "Webhook calls, by outcome (status class or failure).",
            SLOW,
            "outcome");
    // The series of the fixed outcomes exist from the start (at zero), so dashboards and alerts
    // find them before the first event.
    for (String o : new String[] {"ok", "error"}) {
      deviceAck.labelValues(o);
      database.labelValues(o);
    }
    for (String o : new String[] {"2xx", "3xx", "4xx", "5xx"}) {
      webhook.labelValues(o);
    }
    for (String o : WEBHOOK_FAILURES) {
      webhook.labelValues(o);
    }
  }

  private Histogram histogram(String name, String help, double[] buckets, String... labels) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .labelNames(labels)
        .classicOnly()
        .classicUpperBounds(buckets)
        .register(registry);
  }

  /** The registry holding the histograms. */
  public PrometheusRegistry registry() {
    return registry;
  }

  private static double seconds(long nanos) {
    return Math.max(0, nanos) / 1e9;
  }

  /** A device's status was answered {@code nanos} after it arrived. */
  public void deviceAck(long nanos, boolean ok) {
    (ok ? deviceAckOk : deviceAckError).observe(seconds(nanos));
  }

  /** An update the log took at {@code takenMillis} was written to an application now. */
  public void updateDelivered(long takenMillis, long nowMillis) {
    updateDelivery.observe(Math.max(0, nowMillis - takenMillis) / 1e3);
  }

  /** A notification accepted at {@code acceptedMillis} was written at {@code writtenMillis}. */
  public void notificationDelivered(long acceptedMillis, long writtenMillis) {
    notificationDelivery.observe(Math.max(0, writtenMillis - acceptedMillis) / 1e3);
  }

  /** A webhook call with HTTP status {@code status} took {@code millis}. */
  public void webhookAnswered(int status, long millis) {
    String outcome = status >= 200 && status < 600 ? (status / 100) + "xx" : "error";
    webhook.labelValues(outcome).observe(Math.max(0, millis) / 1e3);
  }

  /** A webhook call failed with {@code failure} (a failure kind, or null) after {@code millis}. */
  public void webhookFailed(String failure, long millis) {
    String f = failure == null ? "error" : failure.toLowerCase(Locale.ROOT);
    String outcome = "error";
    for (String known : WEBHOOK_FAILURES) {
      if (known.equals(f)) {
        outcome = known;
      }
    }
    webhook.labelValues(outcome).observe(Math.max(0, millis) / 1e3);
  }

  @Override
  public void database(long nanos, boolean ok) {
    database.labelValues(ok ? "ok" : "error").observe(seconds(nanos));
  }

  @Override
  public void redis(String command, long nanos) {
    redis.labelValues(command).observe(seconds(nanos));
  }
}
