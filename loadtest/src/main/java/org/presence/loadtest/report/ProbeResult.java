package org.presence.loadtest.report;

import org.presence.loadtest.probe.ServerMemory;

/**
 * The server's memory before the load and under it, and what one held connection costs.
 *
 * @param baseline memory before any connection
 * @param loaded memory under load
 * @param connections connections the run added: the server's count under load minus its count at
 *     the baseline (which holds the probe's own and other clients' connections) when it reports
 *     one, else the harness's open connections
 * @param heapPerConnection heap bytes per connection (loaded minus baseline, divided), -1 when not
 *     measurable (unknown, no connection added, or no growth)
 * @param directPerConnection direct-memory bytes per connection, -1 when not measurable
 * @param rssPerConnection RSS bytes per connection, -1 when not measurable
 */
public record ProbeResult(
    ServerMemory baseline,
    ServerMemory loaded,
    long connections,
    double heapPerConnection,
    double directPerConnection,
    double rssPerConnection) {

  /** How a figure that is not measurable reads. */
  public static final String NOT_MEASURABLE = "not measurable";

  /** Per-connection figures from two readings. */
  public static ProbeResult of(
      ServerMemory baseline, ServerMemory loaded, long harnessConnections) {
    long n =
        loaded.connections() >= 0 && baseline.connections() >= 0
            ? loaded.connections() - baseline.connections()
            : harnessConnections;
    return new ProbeResult(
        baseline,
        loaded,
        n,
        per(baseline.heapUsed(), loaded.heapUsed(), n),
        per(baseline.direct(), loaded.direct(), n),
        per(baseline.rss(), loaded.rss(), n));
  }

  private static double per(long before, long after, long n) {
    if (before < 0 || after < 0 || n <= 0 || after <= before) {
      return -1; // a shrinking figure says nothing about what a connection holds
    }
    return (double) (after - before) / n;
  }

  /** {@code perConnection} in bytes, or {@link #NOT_MEASURABLE}. */
  public static String bytes(double perConnection) {
    return perConnection < 0
        ? NOT_MEASURABLE
        : String.format(java.util.Locale.ROOT, "%.0f B", perConnection);
  }
}
