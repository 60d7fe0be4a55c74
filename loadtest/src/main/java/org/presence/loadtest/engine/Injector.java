package org.presence.loadtest.engine;

import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.SampleCodec;
import org.presence.loadtest.metrics.Sampler;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.SourceAddresses;

/**
 * The injector side of a multi-process run ({@code loadtest inject}): mints its users' tokens, says
 * {@code ready}, waits for {@code start <epoch millis>} on standard input, runs its slice and
 * writes one {@link SampleCodec} line a second on standard output, then {@code done}.
 */
public final class Injector {
  /** Line an injector prints once it can start. */
  public static final String READY = "ready";

  /** Line an injector prints when it has finished. */
  public static final String DONE = "done";

  /** Command the coordinator sends: {@code start <epoch millis>}. */
  public static final String START = "start ";

  private Injector() {}

  /** Runs injector {@code index} of the plan's {@code processes}; returns the exit status. */
  public static int run(LoadConfig c, int index, BufferedReader in, PrintWriter out)
      throws IOException, InterruptedException {
    int count = c.processes() * c.sliceCount();
    int slot = c.sliceIndex() * c.processes() + index;
    Simulation sim = Plan.simulation(c);
    SourceAddresses sources =
        SourceAddresses.parse(c.sourceAddresses()).slice(index, c.processes());
    EventLoopGroup loops = Plan.loops(c);
    try (Target target = Plan.target(c, sources)) {
      TokenMinter minter = Plan.minter(c, sim, target);
      Tokens tokens = minter == null ? Tokens.none() : Tokens.mint(minter, sim, slot, count);
      out.println(READY);
      out.flush();
      String line = in.readLine();
      if (line == null || !line.startsWith(START)) {
        return 3;
      }
      long startAt = Long.parseLong(line.substring(START.length()).trim());
      Metrics metrics = new Metrics();
      Runner runner = new Runner(sim, target, metrics, loops, tokens, slot, count);
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
      loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
    }
  }
}
