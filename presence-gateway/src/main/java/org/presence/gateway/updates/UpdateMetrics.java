package org.presence.gateway.updates;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import org.presence.gateway.metrics.LatencyHistograms;

/**
 * The update channel's counters, under {@code presence.updates.*}: updates and frames delivered,
 * snapshots (and fresh ones), reads of the log by connections that fell behind the buffer, gap
 * fills, receipts forwarded and dropped, and writability pauses of slow consumers.
 */
final class UpdateMetrics {
  private final Counter delivered;
  private final Counter frames;
  private final Counter snapshots;
  private final Counter freshSnapshots;
  private final Counter logReads;
  private final Counter gapFills;
  private final Counter receipts;
  private final Counter receiptsDropped;
  private final Counter stalls;
  private final Counter skipped;

  private final LatencyHistograms latency;

  UpdateMetrics(MetricRegistry r) {
    this(r, new LatencyHistograms());
  }

  UpdateMetrics(MetricRegistry r, LatencyHistograms latency) {
    this.latency = latency;
    delivered = r.counter("presence.updates.delivered");
    frames = r.counter("presence.updates.frames");
    snapshots = r.counter("presence.updates.snapshots");
    freshSnapshots = r.counter("presence.updates.snapshots_fresh");
    logReads = r.counter("presence.updates.log_reads");
    gapFills = r.counter("presence.updates.gap_fills");
    receipts = r.counter("presence.updates.receipts_forwarded");
    receiptsDropped = r.counter("presence.updates.receipts_dropped");
    stalls = r.counter("presence.updates.consumer_stalls");
    skipped = r.counter("presence.updates.snapshot_overlap_skipped");
  }

  /** The node's latency histograms (change-to-update). */
  LatencyHistograms latency() {
    return latency;
  }

  Counter delivered() {
    return delivered;
  }

  Counter frames() {
    return frames;
  }

  Counter snapshots() {
    return snapshots;
  }

  Counter freshSnapshots() {
    return freshSnapshots;
  }

  Counter logReads() {
    return logReads;
  }

  Counter gapFills() {
    return gapFills;
  }

  Counter receipts() {
    return receipts;
  }

  Counter receiptsDropped() {
    return receiptsDropped;
  }

  Counter stalls() {
    return stalls;
  }

  Counter skipped() {
    return skipped;
  }
}
