package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.LoadTestMain;
import org.presence.loadtest.report.LatencyStats;
import org.presence.loadtest.report.Summary;

/**
 * What a run's exit status and warnings say about wrong targets and impossible sizes: a URL that is
 * no server's address is a usage error before anything runs, a run in which nothing succeeded is a
 * failed run (exit 3) naming its main error, and more users per process than its open-files limit
 * allows are warned about.
 */
class RunOutcomeTest {
  @TempDir Path dir;

  private static Summary summary(Map<String, Long> counters, Map<String, Long> errors) {
    return new Summary(
        new Summary.RunInfo("s", "presence", "http://x", "t", 1, "c", "m", "j"),
        5,
        0,
        Map.of(),
        counters,
        Map.of(),
        Map.of(),
        errors,
        0,
        null,
        List.of());
  }

  @Test
  void aRunInWhichNothingSucceeded_failsNamingItsMainError() {
    String why =
        LoadRun.nothingSucceeded(
            summary(
                Map.of("users.started", 100L),
                Map.of("connect-refused", 97L, "connect-timeout", 3L)));
    assertThat(why)
        .contains("nothing succeeded")
        .contains("100 error(s)")
        .contains("connect-refused (97)");
    // Every token refused: the same.
    assertThat(LoadRun.nothingSucceeded(summary(Map.of(), Map.of("errno 34", 5L))))
        .contains("errno 34 (5)");
    // One session opened, or no error at all: not this failure.
    assertThat(
            LoadRun.nothingSucceeded(summary(Map.of("opened", 1L), Map.of("connect-refused", 99L))))
        .isNull();
    assertThat(LoadRun.nothingSucceeded(summary(Map.of(), Map.of()))).isNull();
    // Posts answered though no session was opened: something succeeded.
    Summary posts =
        new Summary(
            new Summary.RunInfo("s", "presence", "http://x", "t", 1, "c", "m", "j"),
            5,
            0,
            Map.of("post", new LatencyStats(3, 1, 1, 1, 1, 1, 1, 1, LatencyStats.UNIT)),
            Map.of(),
            Map.of(),
            Map.of(),
            Map.of("errno 40", 1L),
            0,
            null,
            List.of());
    assertThat(LoadRun.nothingSucceeded(posts)).isNull();
  }

  @Test
  void moreUsersPerProcessThanItsOpenFilesLimitHolds_isWarnedAbout() {
    assertThat(LoadRun.socketWarning(25_000, 1, 20_000))
        .contains("25000 sockets per process")
        .contains("open-files limit (20000")
        .contains("-p 2");
    assertThat(LoadRun.socketWarning(25_000, 2, 20_000)).isNull();
    assertThat(LoadRun.socketWarning(19_000, 1, 20_000)).isNull();
    assertThat(LoadRun.socketWarning(19_001, 1, 20_000)).isNotNull();
    assertThat(LoadRun.socketWarning(1_000_000, 1, -1)).isNull();
  }

  private int runMain(StringWriter err, String... args) {
    picocli.CommandLine cl = LoadTestMain.commandLine();
    cl.setErr(new PrintWriter(err, true));
    cl.setOut(new PrintWriter(new StringWriter(), true));
    return cl.execute(args);
  }

  @Test
  void aUrlThatIsNoServersAddress_isAUsageError_beforeAnythingRuns() {
    for (String url : List.of("notaurl", "ftp://127.0.0.1:21", "http://", "127.0.0.1:8080")) {
      StringWriter err = new StringWriter();
      int status =
          runMain(
              err,
              "run",
              "idle-density",
              "--target",
              "presence",
              "--url",
              url,
              "-u",
              "1",
              "-o",
              dir.resolve("r").toString());
      assertThat(status).as(url).isEqualTo(LoadRun.USAGE);
      assertThat(err.toString()).as(url).contains("--url").contains("http://HOST:PORT");
    }
    StringWriter err = new StringWriter();
    int status =
        runMain(
            err,
            "run",
            "status-fanout",
            "--target",
            "presence",
            "--url",
            "http://127.0.0.1:1",
            "--apps-url",
            "ftp://x",
            "-o",
            dir.resolve("r").toString());
    assertThat(status).isEqualTo(LoadRun.USAGE);
    assertThat(err.toString()).contains("--apps-url ftp://x");
  }
}
