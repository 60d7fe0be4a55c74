package org.presence.loadtest.metrics;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Takes an {@link IntervalSample} from {@link Metrics} at every whole second of wall-clock time and
 * hands it to a sink: the in-process {@link Timeline}, or standard output of an injector process.
 * Aligning to whole seconds lets samples of separate processes fall into the same second.
 */
public final class Sampler implements AutoCloseable {
  private final Metrics metrics;
  private final int injector;
  private final Consumer<IntervalSample> sink;
  private final ScheduledExecutorService timer;
  private long lastMillis;

  /** Starts sampling {@code metrics} into {@code sink}. */
  public Sampler(Metrics metrics, int injector, Consumer<IntervalSample> sink) {
    this.metrics = metrics;
    this.injector = injector;
    this.sink = sink;
    this.lastMillis = Clock.millis();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lt-sampler");
              t.setDaemon(true);
              return t;
            });
    long now = Clock.millis();
    long delay = 1000 - (now % 1000);
    timer.scheduleAtFixedRate(this::tick, delay, 1000, TimeUnit.MILLISECONDS);
  }

  private synchronized void tick() {
    long now = Clock.millis();
    sink.accept(metrics.sample(injector, lastMillis, now));
    lastMillis = now;
  }

  /** Stops the timer and takes the last (partial) interval. */
  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    tick();
  }
}
