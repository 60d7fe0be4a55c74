package org.presence.loadtest.engine;

import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.SampleCodec;
import org.presence.loadtest.metrics.Sampler;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;

/**
 * The injector side of a multi-process run ({@code loadtest inject}): mints its users' tokens, says
 * {@code ready}, waits for {@code start <epoch millis>} on standard input, runs its slice and
 * writes one {@link SampleCodec} line a second on standard output, then {@code done}. When its
 * slice reaches a {@link Runner.Phase} it says {@code reached <phase>}, and goes on from it when
 * the coordinator says {@code everyone <phase>} (every injector reached it). When its standard
 * input closes (the coordinator stops it, or died) it ends its users at once, and exits within
 * {@link Runner#STOP_GRACE} and five seconds at the latest, so no injector keeps sending load for a
 * harness that is gone.
 */
public final class Injector {
  /** Line an injector prints once it can start. */
  public static final String READY = "ready";

  /** Line an injector prints when it has finished. */
  public static final String DONE = "done";

  /** Command the coordinator sends: {@code start <epoch millis>}. */
  public static final String START = "start ";

  /** Line an injector prints when its slice reached a phase: {@code reached <phase>}. */
  public static final String REACHED = "reached ";

  /**
   * Command the coordinator sends once every injector reached a phase: {@code everyone <phase>}.
   */
  public static final String EVERYONE = "everyone ";

  private Injector() {}

  /** Runs injector {@code index} of the plan's {@code processes}; returns the exit status. */
  public static int run(LoadConfig c, int index, BufferedReader in, PrintWriter out)
      throws IOException, InterruptedException {
    int count = c.processes() * c.sliceCount();
    int slot = c.sliceIndex() * c.processes() + index;
    Simulation sim = Plan.simulation(c);
    SourceAddresses sources =
        SourceAddresses.parse(c.sourceAddresses()).slice(index, c.processes());
    CompletableFuture<String> startLine = new CompletableFuture<>();
    AtomicReference<Runner> running = new AtomicReference<>();
    AtomicBoolean inputClosed = new AtomicBoolean();
    Thread watcher =
        new Thread(
            () -> {
              try {
                startLine.complete(in.readLine());
                String line;
                while ((line = in.readLine()) != null) {
                  Runner.Phase p =
                      line.startsWith(EVERYONE)
                          ? Runner.Phase.of(line.substring(EVERYONE.length()).trim())
                          : null;
                  Runner r = running.get();
                  if (p != null && r != null) {
                    r.everyReached(p); // sent only after this injector's runner reached it
                  }
                }
              } catch (IOException e) {
                // The coordinator is gone: stop as at the end of input.
              }
              startLine.complete(null);
              inputClosed.set(true);
              Runner r = running.get();
              if (r != null) {
                r.stop();
              }
              haltLater(Runner.STOP_GRACE.toMillis() + 5_000);
            },
            "lt-stdin");
    watcher.setDaemon(true);
    watcher.start();
    // Ctrl-C reaches the injectors too (one process group): end the users and send the last
    // samples before the JVM goes, as on the end of input.
    java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              Runner r = running.get();
              if (r != null) {
                r.stop();
                try {
                  ended.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
            },
            "lt-injector-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    EventLoopGroup loops = Plan.loops(c);
    try (Target target = Plan.target(c, sources)) {
      TokenMinter minter = Plan.minter(c, sim, target);
      Tokens tokens =
          minter == null
              ? Tokens.none()
              : Tokens.mint(
                  minter,
                  sim,
                  slot,
                  count,
                  progress -> {
                    synchronized (out) {
                      out.println(progress);
                      out.flush();
                    }
                  });
      out.println(READY);
      out.flush();
      String line = startLine.join();
      if (line == null || !line.startsWith(START)) {
        return 3;
      }
      long startAt = Long.parseLong(line.substring(START.length()).trim());
      Metrics metrics = new Metrics();
      Runner runner =
          new Runner(sim, target, metrics, loops, tokens, slot, count)
              .coordinated(
                  phase -> {
                    synchronized (out) {
                      out.println(REACHED + phase.wire());
                      out.flush();
                    }
                  });
      running.set(runner);
      if (inputClosed.get()) {
        runner.stop();
      }
      try (Sampler sampler =
          new Sampler(
              metrics,
              slot,
              s -> {
                synchronized (out) {
                  out.println(SampleCodec.encode(s));
                  out.flush();
                }
              })) {
        runner.run(startAt);
      }
      synchronized (out) {
        out.println(DONE);
        out.flush();
      }
      return 0;
    } finally {
      ended.countDown();
      Transport.shutDown(loops, Duration.ofSeconds(2)).awaitUninterruptibly(5_000);
    }
  }

  /** Ends this process after {@code millis} whatever it is doing (its coordinator is gone). */
  private static void haltLater(long millis) {
    Thread t =
        new Thread(
            () -> {
              try {
                Thread.sleep(millis);
              } catch (InterruptedException e) {
                return;
              }
              Runtime.getRuntime().halt(3);
            },
            "lt-halt");
    t.setDaemon(true);
    t.start();
  }
}
