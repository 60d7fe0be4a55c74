package org.presence.loadtest.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.presence.protocol.api.NotificationBatchCodec;

/**
 * The notification API's body reader without the network: a batch of 10 items as the load harness
 * posts them (a PUID, a short message, an {@code https} action), read and judged by {@link
 * NotificationBatchCodec}. {@code actions} is {@code same} (every item one action, as an
 * application usually sends) or {@code distinct} (each item its own host). Figures in
 * BENCHMARKS.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms512m", "-Xmx512m", "-Dio.netty.leakDetection.level=disabled"})
public class NotificationBatchCodecBenchmark {
  @Param({"same", "distinct"})
  public String actions;

  private final NotificationBatchCodec codec =
      new NotificationBatchCodec(NotificationBatchCodec.Limits.defaults());
  private ByteBuf body;

  @Setup(Level.Trial)
  public void setUp() {
    StringBuilder json = new StringBuilder("[");
    for (int i = 0; i < 10; i++) {
      String host = actions.equals("same") ? "loadtest.invalid" : "host" + i + ".loadtest.invalid";
      json.append(i == 0 ? "" : ",")
          .append("{\"UID\":\"a3f1c2d4e5b6978812345678abcdef0")
          .append(i)
          .append("\",\"message\":\"load test notification ")
          .append(i)
          .append("\",\"action\":\"https://")
          .append(host)
          .append("/open\"}");
    }
    body = Unpooled.copiedBuffer(json.append("]"), StandardCharsets.UTF_8);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    body.release();
  }

  /** The batch read by each operation (for the benchmark's test). */
  ByteBuf body() {
    return body;
  }

  /** Read and judge the batch's 10 items. */
  @Benchmark
  public void decodeBatchOf10(Blackhole bh) {
    bh.consume(codec.decode(body));
  }
}
