package org.presence.loadtest.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;

/**
 * The device channel's hot path without the network: decode a status frame from a pooled direct
 * buffer (as the gateway receives it) and encode its acknowledgement into another. Targets (issue
 * 3): at most 300 ns and at most two allocations per frame beyond the decoded value; run with
 * {@code -prof gc} to see bytes allocated per operation. {@link #decodeOnly} and {@link
 * #encodeAckOnly} split the cost. The benchmark threads are Netty threads ({@link
 * NettyThreadExecutor}), so buffers come from a thread cache as on an event loop. Figures in
 * BENCHMARKS.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "-Xms512m",
      "-Xmx512m",
      // As in production: no leak tracking; benchmark threads are Netty threads (see class).
      "-Dio.netty.leakDetection.level=disabled",
      "-Djmh.executor=CUSTOM",
      "-Djmh.executor.class=org.presence.loadtest.jmh.NettyThreadExecutor"
    })
public class DeviceCodecBenchmark {
  private static final UUID SESSION = UUID.fromString("61539351-1f02-4b62-a136-205000ece41a");

  private final DeviceCodec codec = new DeviceCodec();
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private ByteBuf frame;

  @Setup(Level.Trial)
  public void setUp() {
    byte[] bytes =
        ("{\"type\":\"status\",\"session_id\":\"" + SESSION + "\",\"status\":\"online\"}")
            .getBytes(StandardCharsets.UTF_8);
    frame = alloc.directBuffer(bytes.length);
    frame.writeBytes(bytes);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    frame.release();
  }

  /** Decode a status frame, then encode its ack into a pooled buffer and release it. */
  @Benchmark
  public void decodeStatusAndEncodeAck(Blackhole bh) {
    DeviceMessage m = codec.decode(frame);
    ByteBuf out = alloc.directBuffer(16);
    DeviceCodec.encodeAck(out);
    bh.consume(m);
    bh.consume(out.writerIndex());
    out.release();
  }

  /** Decode only. */
  @Benchmark
  public DeviceMessage decodeOnly() {
    return codec.decode(frame);
  }

  /** Encode the ack only. */
  @Benchmark
  public int encodeAckOnly() {
    ByteBuf out = alloc.directBuffer(16);
    DeviceCodec.encodeAck(out);
    int n = out.writerIndex();
    out.release();
    return n;
  }
}
