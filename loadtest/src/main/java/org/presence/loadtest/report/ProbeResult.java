package org.presence.loadtest.report;

import org.presence.loadtest.probe.ServerMemory;

/**
 * The server's memory before the load and under it, and what one held connection costs.
 *
 * @param baseline memory before any connection
 * @param loaded memory under load
 * @param connections connections held at the loaded reading (the server's count when it reports
 *     one, else the harness's)
 * @param heapPerConnection heap bytes per connection (loaded minus baseline, divided), -1 unknown
 * @param directPerConnection direct-memory bytes per connection, -1 unknown
 * @param rssPerConnection RSS bytes per connection, -1 unknown
 */
public record ProbeResult(
    ServerMemory baseline,
    ServerMemory loaded,
    long connections,
    double heapPerConnection,
    double directPerConnection,
    double rssPerConnection) {

  /** Per-connection figures from two readings. */
  public static ProbeResult of(
      ServerMemory baseline, ServerMemory loaded, long harnessConnections) {
    long n = loaded.connections() > 0 ? loaded.connections() : harnessConnections;
    return new ProbeResult(
        baseline,
        loaded,
        n,
        per(baseline.heapUsed(), loaded.heapUsed(), n),
        per(baseline.direct(), loaded.direct(), n),
        per(baseline.rss(), loaded.rss(), n));
  }

  private static double per(long before, long after, long n) {
    if (before < 0 || after < 0 || n <= 0) {
      return -1;
    }
    return (double) (after - before) / n;
  }
}
