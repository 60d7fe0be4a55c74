package org.presence.loadtest.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A few-second run of each device benchmark against the node jar this reactor built, so that they
 * keep working; their figures are judged in BENCHMARKS.md, never here.
 */
class DeviceBenchSmokeIT {
  private static final Path JAR = Path.of("..", "presence-gateway", "target", "presence.jar");

  private static String run(Object command, String... args) {
    assumeTrue(Files.exists(JAR), "presence.jar not built in this reactor run");
    StringWriter out = new StringWriter();
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(out, true));
    int code = cl.execute(args);
    assertThat(code).as(out.toString()).isZero();
    return out.toString();
  }

  @Test
  void idleDensity_smallRun_printsTheTable() {
    String out =
        run(
            new IdleDensity(),
            "--server-jar",
            JAR.toString(),
            "--sessions",
            "60",
            "--warmup",
            "10",
            "--settle",
            "0",
            "--no-steady",
            "--heap",
            "256m",
            "--io-threads",
            "1");
    assertThat(out).contains("| heap after full GC |").contains("textbook Netty WS");
    // Every server ran with the JVM's native memory tracking, read per category.
    String nativeRow =
        out.lines()
            .filter(l -> l.startsWith("| native memory (JVM tracking"))
            .findFirst()
            .orElseThrow(() -> new AssertionError(out));
    assertThat(nativeRow).doesNotContain("NaN");
    assertThat(out).contains("heap plus native ratio").containsPattern("(?m)^  GC +fresh");
  }

  @Test
  void connectStorm_smallRun_printsRates() {
    String out =
        run(
            new ConnectStorm(),
            "--server-jar",
            JAR.toString(),
            "--sessions",
            "60",
            "--rounds",
            "1",
            "--warmup-rounds",
            "1",
            "--heap",
            "256m",
            "--io-threads",
            "1");
    assertThat(out)
        .contains("round 1: 60 sessions")
        .contains("0 failed")
        .contains("median")
        .contains("idle cores");
  }
}
