package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.HarnessProcess;
import org.presence.loadtest.LoadTestMain;

/**
 * A multi-process run (its own floor, two injectors) stopped by a signal to the harness, or killed:
 * no process of the run is left sending load, and a signal leaves a report of what was measured,
 * marked as stopped early, that {@code loadtest report} can rebuild.
 */
class SignalStopTest {
  @TempDir Path dir;

  private HarnessProcess startRun(Path out) throws Exception {
    HarnessProcess h =
        HarnessProcess.start(
            dir.resolve("logs"),
            List.of(),
            "run",
            "status-fanout",
            "-u",
            "10",
            "--apps",
            "2",
            "--ramp",
            "1s",
            "-d",
            "60s",
            "--interval",
            "300ms",
            "-p",
            "2",
            "--event-loops",
            "1",
            "--injector-jvm-opt=-Xmx96m",
            "--floor-jvm-opt=-Xmx96m",
            "--console-every",
            "1",
            "-o",
            out.toString());
    // The first console line: the injectors are sending.
    assertThat(h.awaitOut("s] open ", Duration.ofSeconds(60))).as(h.out() + h.err()).isTrue();
    assertThat(h.process().descendants().filter(ProcessHandle::isAlive).count())
        .as("the floor and two injectors: " + h.out() + h.err())
        .isEqualTo(3);
    return h;
  }

  private static boolean allGone(List<ProcessHandle> children, Duration within)
      throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < end) {
      if (children.stream().noneMatch(ProcessHandle::isAlive)) {
        return true;
      }
      Thread.sleep(100);
    }
    return false;
  }

  @Test
  void sigterm_stopsTheInjectorsAndTheFloor_andWritesAReportMarkedStoppedEarly() throws Exception {
    Path out = dir.resolve("run");
    try (HarnessProcess h = startRun(out)) {
      List<ProcessHandle> children = h.process().descendants().toList();
      long signalled = System.nanoTime();
      h.process().destroy(); // SIGTERM
      assertThat(h.waitFor(Duration.ofSeconds(30))).as(h.out() + h.err()).isEqualTo(143);
      assertThat(allGone(children, Duration.ofSeconds(5))).as("children left running").isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - signalled))
          .isLessThan(Duration.ofSeconds(20));
      assertThat(h.out()).contains(LoadRun.STOPPED_BY_SIGNAL).contains("done: ");
      JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
      assertThat(summary.path("run").path("stopped").asText()).isEqualTo(LoadRun.STOPPED_BY_SIGNAL);
      assertThat(summary.path("counters").path("opened").asLong()).isPositive();
      assertThat(Files.readString(out.resolve("index.html"))).contains("stopped early");
    }
    assertThat(LoadTestMain.execute("report", out.toString())).isZero();
  }

  @Test
  void sigkill_ofTheHarness_leavesNoInjectorOrFloorRunning() throws Exception {
    try (HarnessProcess h = startRun(dir.resolve("killed"))) {
      List<ProcessHandle> children = h.process().descendants().toList();
      h.process().destroyForcibly(); // SIGKILL: no hook runs
      assertThat(h.waitFor(Duration.ofSeconds(10))).isEqualTo(137);
      assertThat(allGone(children, Duration.ofSeconds(5))).as("children left running").isTrue();
    }
  }
}
