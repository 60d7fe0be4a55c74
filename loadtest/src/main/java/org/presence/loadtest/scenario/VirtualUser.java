package org.presence.loadtest.scenario;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.presence.loadtest.metrics.Clock;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Stamp;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.DeviceIdentity;
import org.presence.loadtest.targets.Inbound;
import org.presence.loadtest.targets.VirtualApp;
import org.presence.loadtest.targets.VirtualDevice;

/**
 * One virtual user (Gatling's session): its number, its event loop, its device or app connection
 * and what it received. Everything here is touched only on its event loop, so it needs no locks;
 * the engine reaches it from other threads only through {@link #wake()}, which hops onto the loop.
 */
public final class VirtualUser {
  private final long id;
  private final EventLoop loop;
  private final RunContext context;
  private VirtualDevice device;
  private VirtualApp app;
  private long received;
  private long awaitedCount = Long.MAX_VALUE;
  private CompletableFuture<Void> waiter;
  private CompletableFuture<Void> sleep;
  private ScheduledFuture<?> sleepTimer;
  private long sendCount;
  private final AtomicBoolean ended = new AtomicBoolean();

  /** User {@code id} running on {@code loop}. */
  public VirtualUser(long id, EventLoop loop, RunContext context) {
    this.id = id;
    this.loop = loop;
    this.context = context;
  }

  /** The user's number, unique in the run. */
  public long id() {
    return id;
  }

  /** The loop the user runs on. */
  public EventLoop loop() {
    return loop;
  }

  /** The run. */
  public RunContext context() {
    return context;
  }

  /** The metrics of the run. */
  public Metrics metrics() {
    return context.metrics();
  }

  /** The app number of this user: its own number as an app, or the app its device reports to. */
  public int appIndex() {
    return (int) Math.floorMod(id, Math.max(1, context.apps()));
  }

  /** The identity of this user's device. */
  public DeviceIdentity deviceIdentity() {
    return new DeviceIdentity(id, "load-device-" + id, context.assertion(id), appIndex());
  }

  /** The device connection, or null. */
  public VirtualDevice device() {
    return device;
  }

  /** Sets the device connection. */
  public void device(VirtualDevice d) {
    this.device = d;
  }

  /** The app connection, or null. */
  public VirtualApp app() {
    return app;
  }

  /** Sets the app connection. */
  public void app(VirtualApp a) {
    this.app = a;
  }

  /** A number that goes up with every send, for alternating statuses. */
  public long nextSend() {
    return sendCount++;
  }

  /** Frames received so far (pushed frames only, not replies). */
  public long received() {
    return received;
  }

  /** Whether the run is stopping. */
  public boolean stopping() {
    return context.stopping();
  }

  /**
   * Whether this is the first time the user's end is counted: the engine counts a user once, as
   * done, by the kind of its error, or as cut off at the stop, whichever comes first.
   */
  public boolean markEnded() {
    return ended.compareAndSet(false, true);
  }

  /**
   * Closes the user's connections at once, giving up on any still opening (the run is over); safe
   * from any thread.
   */
  public void abort() {
    if (loop.inEventLoop()) {
      abortNow();
    } else {
      loop.execute(this::abortNow);
    }
  }

  private void abortNow() {
    if (device != null) {
      device.abort();
    }
    if (app != null) {
      app.abort();
    }
  }

  /**
   * One connection's {@link Inbound}: records pushed frames under a latency metric (one latency per
   * stamp found), and counts the connection in {@link Metrics#OPENED} when its session is accepted
   * ({@link #opened()}) and in {@link Metrics#CLOSED} when it ends, only if it was counted opened,
   * so that {@code opened - closed} is what is open.
   */
  public final class Connection implements Inbound {
    private final String latencyMetric;
    private boolean open;

    private Connection(String latencyMetric) {
      this.latencyMetric = latencyMetric;
    }

    /** The session was accepted: counted open. Called on the user's loop. */
    public void opened() {
      if (!open) {
        open = true;
        Metrics m = context.metrics();
        m.count(Metrics.OPENED);
        m.opened();
      }
    }

    public void frame(ByteBuf utf8) {
      Metrics m = context.metrics();
      m.count(Metrics.RECEIVED);
      long now = Clock.micros();
      int stamps = Stamp.forEach(utf8, sent -> m.record(latencyMetric, now - sent));
      if (stamps > 0) {
        m.count(Metrics.DELIVERED, stamps);
      }
      received += Math.max(1, stamps);
      if (waiter != null && received >= awaitedCount) {
        CompletableFuture<Void> w = waiter;
        waiter = null;
        w.complete(null);
      }
    }

    @Override
    public void closed(boolean byServer, String reason) {
      if (!open) {
        return; // never counted open: its failed connect is the error
      }
      open = false;
      Metrics m = context.metrics();
      m.closed();
      m.count(Metrics.CLOSED);
      if (byServer && !context.stopping()) {
        m.error(reason.isEmpty() ? "closed-by-server" : reason);
      }
    }
  }

  /** A new connection's {@link Inbound}, its stamps recorded under {@code latencyMetric}. */
  public Connection inbound(String latencyMetric) {
    return new Connection(latencyMetric);
  }

  /** Completes after {@code d} (null: at the end of the run), or early when the run stops. */
  public CompletableFuture<Void> sleep(Duration d) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    if (context.stopping()) {
      f.complete(null);
      return f;
    }
    sleep = f;
    if (d != null) {
      sleepTimer = loop.schedule(() -> wakeNow(), d.toNanos(), TimeUnit.NANOSECONDS);
    } else {
      context.holdingUntilEnd(this);
    }
    return f;
  }

  /** Completes when {@code count} more frames have arrived, or fails after {@code timeout}. */
  public CompletableFuture<Void> awaitFrames(long count, Duration timeout) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    if (count <= 0) {
      f.complete(null);
      return f;
    }
    awaitedCount = received + count;
    waiter = f;
    ScheduledFuture<?> t =
        loop.schedule(
            () -> {
              if (waiter == f) {
                waiter = null;
                f.completeExceptionally(
                    new ClientException("receive-timeout", "no frame within " + timeout));
              }
            },
            timeout.toNanos(),
            TimeUnit.NANOSECONDS);
    f.whenComplete((v, e) -> t.cancel(false));
    return f;
  }

  /** Ends a sleep early (the run is stopping); safe from any thread. */
  public void wake() {
    if (loop.inEventLoop()) {
      wakeNow();
    } else {
      loop.execute(this::wakeNow);
    }
  }

  private void wakeNow() {
    if (sleepTimer != null) {
      sleepTimer.cancel(false);
      sleepTimer = null;
    }
    CompletableFuture<Void> s = sleep;
    sleep = null;
    if (s != null) {
      s.complete(null);
    }
    CompletableFuture<Void> w = waiter;
    if (w != null && context.stopping()) {
      waiter = null;
      w.complete(null);
    }
  }
}
