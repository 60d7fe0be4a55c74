package org.presence.loadtest.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@link DeviceCodecBenchmark} operation measured in CPU time rather than wall time: on a
 * machine other processes keep busy, wall time per operation includes waiting for a core, CPU time
 * mostly does not. Runs on a Netty thread, warms up, then reports the thread's CPU time per
 * decode-and-ack over several batches (the lowest is the best estimate of an idle machine).
 */
@Command(
    name = "device-codec-cpu",
    mixinStandardHelpOptions = true,
    description = "CPU time per status-frame decode and ack encode.")
public final class DeviceCodecCpuTime implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--ops", defaultValue = "5000000", description = "Operations per batch.")
  int ops;

  @Option(names = "--batches", defaultValue = "8", description = "Measured batches.")
  int batches;

  public static void main(String[] args) {
    System.exit(new CommandLine(new DeviceCodecCpuTime()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    AtomicReference<Exception> failure = new AtomicReference<>();
    Thread t =
        new DefaultThreadFactory("codec-cpu")
            .newThread(
                () -> {
                  try {
                    measure(out);
                  } catch (Exception e) {
                    failure.set(e);
                  }
                });
    t.start();
    t.join();
    if (failure.get() != null) {
      throw failure.get();
    }
    return 0;
  }

  private void measure(PrintWriter out) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    DeviceCodec codec = new DeviceCodec();
    ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    byte[] bytes =
        "{\"type\":\"status\",\"session_id\":\"61539351-1f02-4b62-a136-205000ece41a\",\"status\":\"online\"}"
            .getBytes(StandardCharsets.UTF_8);
    ByteBuf frame = alloc.directBuffer(bytes.length);
    frame.writeBytes(bytes);
    long sink = 0;
    try {
      for (int i = 0; i < 2 * ops; i++) {
        sink += op(codec, alloc, frame);
      }
      double best = Double.MAX_VALUE;
      for (int b = 0; b < batches; b++) {
        long cpu0 = mx.getCurrentThreadCpuTime();
        long wall0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
          sink += op(codec, alloc, frame);
        }
        double cpu = (mx.getCurrentThreadCpuTime() - cpu0) / (double) ops;
        double wall = (System.nanoTime() - wall0) / (double) ops;
        best = Math.min(best, cpu);
        out.printf(
            Locale.ROOT, "batch %d: %.1f ns CPU, %.1f ns wall per operation%n", b + 1, cpu, wall);
        out.flush();
      }
      out.printf(Locale.ROOT, "best: %.1f ns CPU per decode + ack (sink %d)%n", best, sink & 1);
    } finally {
      frame.release();
    }
  }

  private static int op(DeviceCodec codec, ByteBufAllocator alloc, ByteBuf frame) {
    DeviceMessage m = codec.decode(frame);
    ByteBuf ack = alloc.directBuffer(16);
    DeviceCodec.encodeAck(ack);
    int n = ack.writerIndex() + (m instanceof DeviceMessage.StatusUpdate ? 1 : 0);
    ack.release();
    return n;
  }
}
