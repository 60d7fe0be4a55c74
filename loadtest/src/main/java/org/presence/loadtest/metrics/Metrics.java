package org.presence.loadtest.metrics;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What one injector process records while it runs: latency histograms (HdrHistogram {@link
 * Recorder}s, microseconds), counters, errors by kind and the number of open connections. Event
 * loops record concurrently without locks; the {@link Sampler} takes an {@link IntervalSample}
 * every second.
 *
 * <p>Metric and counter names are shared by every scenario and target, so a scenario run against
 * the floor and against Presence yields figures that compare one to one.
 */
public final class Metrics {
  /** Latency: socket opened to session accepted (for the floor: to the WebSocket upgrade). */
  public static final String CONNECT = "connect";

  /** Latency: app socket opened to subscription accepted. */
  public static final String SUBSCRIBE = "subscribe";

  /** Latency: a device request to its acknowledgement. */
  public static final String ACK = "ack";

  /** Latency: a device's status send to an app's receipt of the update (stamp in the message). */
  public static final String UPDATE = "update";

  /** Latency: a notification POST sent to a device's receipt of it (stamp in the message). */
  public static final String NOTIFY = "notify";

  /** Latency: a notification POST to its HTTP response. */
  public static final String POST = "post";

  /** Counter: sessions opened (devices and apps). */
  public static final String OPENED = "opened";

  /** Counter: sockets closed, by either side. */
  public static final String CLOSED = "closed";

  /**
   * Counter: frames and requests that reached the server, one per status frame or notification POST
   * (however many items it carries), counted when written and, where the channel answers, answered;
   * one that fails is counted as its error instead.
   */
  public static final String SENT = "sent";

  /** Counter: frames received. */
  public static final String RECEIVED = "received";

  /** Counter: stamped items received (updates or notifications). */
  public static final String DELIVERED = "delivered";

  /** Counter: virtual users started. */
  public static final String USERS_STARTED = "users.started";

  /** Counter: virtual users that ran their scenario to its end. */
  public static final String USERS_DONE = "users.done";

  /** Every latency metric's name (an assertion naming another is refused before the run). */
  public static final java.util.Set<String> LATENCIES =
      java.util.Set.of(CONNECT, SUBSCRIBE, ACK, UPDATE, NOTIFY, POST);

  /** Every counter's name (an assertion naming another is refused before the run). */
  public static final java.util.Set<String> COUNTERS =
      java.util.Set.of(OPENED, CLOSED, SENT, RECEIVED, DELIVERED, USERS_STARTED, USERS_DONE);

  /** Highest latency tracked: one hour. */
  static final long HIGHEST_MICROS = 3_600_000_000L;

  /** Significant digits of every histogram. */
  static final int DIGITS = 3;

  private final ConcurrentMap<String, Recorder> recorders = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, LongAdder> counters = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final LongAdder active = new LongAdder();
  private final Map<String, Long> lastCounters = new TreeMap<>();
  private final Map<String, Long> lastErrors = new TreeMap<>();

  /** A new, empty histogram with the harness's range and precision. */
  public static Histogram newHistogram() {
    return new Histogram(HIGHEST_MICROS, DIGITS);
  }

  /** Records one latency of {@code metric}, in microseconds (clamped to the tracked range). */
  public void record(String metric, long micros) {
    long v = Math.max(0, Math.min(micros, HIGHEST_MICROS));
    recorders.computeIfAbsent(metric, m -> new Recorder(HIGHEST_MICROS, DIGITS)).recordValue(v);
  }

  /** Adds one to {@code counter}. */
  public void count(String counter) {
    count(counter, 1);
  }

  /** Adds {@code n} to {@code counter}. */
  public void count(String counter, long n) {
    counters.computeIfAbsent(counter, c -> new LongAdder()).add(n);
  }

  /**
   * Counts one error of {@code kind}: {@code errno N} for a server error, or a short label such as
   * {@code connect-refused} or {@code receive-timeout}.
   */
  public void error(String kind) {
    error(kind, 1);
  }

  /** Counts {@code n} errors of {@code kind}. */
  public void error(String kind, long n) {
    errors.computeIfAbsent(kind, c -> new LongAdder()).add(n);
  }

  /** A connection opened. */
  public void opened() {
    active.increment();
  }

  /** A connection closed. */
  public void closed() {
    active.decrement();
  }

  /** Connections open now. */
  public long active() {
    return active.sum();
  }

  /** The current total of {@code counter}. */
  public long total(String counter) {
    LongAdder a = counters.get(counter);
    return a == null ? 0 : a.sum();
  }

  /** The current total of errors of every kind. */
  public long totalErrors() {
    return errors.values().stream().mapToLong(LongAdder::sum).sum();
  }

  /**
   * The interval since the previous call: histograms, counter and error deltas, and open
   * connections now. Called by one thread at a time.
   */
  public synchronized IntervalSample sample(int injector, long startMillis, long endMillis) {
    Map<String, Histogram> histograms = new TreeMap<>();
    recorders.forEach(
        (name, r) -> {
          Histogram h = r.getIntervalHistogram();
          if (h.getTotalCount() > 0) {
            histograms.put(name, h);
          }
        });
    return new IntervalSample(
        injector,
        startMillis,
        endMillis,
        active.sum(),
        deltas(counters, lastCounters),
        deltas(errors, lastErrors),
        histograms);
  }

  private static Map<String, Long> deltas(Map<String, LongAdder> now, Map<String, Long> last) {
    Map<String, Long> out = new TreeMap<>();
    now.forEach(
        (name, adder) -> {
          long total = adder.sum();
          long delta = total - last.getOrDefault(name, 0L);
          last.put(name, total);
          if (delta != 0) {
            out.put(name, delta);
          }
        });
    return out;
  }
}
