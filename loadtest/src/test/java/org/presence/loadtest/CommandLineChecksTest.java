package org.presence.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.engine.LoadRun;
import picocli.CommandLine;

/**
 * Options a run cannot use are refused at once with a usage error (exit 2) that names the option
 * and says what is wrong, before anything is started or registered on a node; errors a command
 * meets later say what went wrong in words, without Java class names.
 */
class CommandLineChecksTest {
  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = LoadTestMain.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int status = cl.execute(args);
    return new Result(status, out.toString(), err.toString());
  }

  private Result runWith(String scenario, String... more) {
    List<String> args =
        new ArrayList<>(List.of("run", scenario, "-o", dir.resolve("r").toString()));
    args.addAll(List.of(more));
    return run(args.toArray(String[]::new));
  }

  private static void assertUsage(Result r, String message) {
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.USAGE);
    assertThat(r.err()).contains(message).doesNotContain("Exception");
  }

  @Test
  void oddValues_areRefusedAsUsage_namingTheOption() {
    assertUsage(runWith("status-fanout", "--apps", "0"), "--apps must be at least 1, not 0");
    assertUsage(runWith("idle-density", "-u", "0"), "-u/--users must be at least 1, not 0");
    assertUsage(runWith("idle-density", "--ramp", "-1s"), "--ramp must be more than 0, not -1s");
    assertUsage(runWith("churn", "--interval", "0s"), "--interval must be more than 0, not 0s");
    assertUsage(runWith("notify", "--batch", "0"), "--batch must be at least 1, not 0");
    assertUsage(runWith("connect-storm", "--rate", "0"), "--rate must be more than 0");
    assertUsage(
        runWith("connect-storm", "-u", "10", "--rate", "5"),
        "connect-storm takes --rate (users arrive at that rate for -d) or -u (all at once)");
    assertUsage(
        runWith("idle-density", "--console-every", "0"), "--console-every must be at least 1");
    assertThat(Files.exists(dir.resolve("r").resolve("plan.json"))).isFalse();
  }

  @Test
  void anUnknownMetricInAnAssertion_isRefusedBeforeTheRun() {
    Result r = runWith("idle-density", "-a", "p99(updat) < 5ms");
    assertUsage(r, "p99() takes a latency metric, one of [ack, connect, notify, post");
    assertUsage(runWith("idle-density", "-a", "rate(connect) > 5"), "rate() takes a counter");
    assertThat(r.out()).doesNotContain("floor started");
  }

  @Test
  void aMissingSigningKey_saysTheFileIsMissing() {
    Path missing = dir.resolve("nonexist.jwk");
    assertUsage(
        runWith(
            "idle-density",
            "--target",
            "presence",
            "--url",
            "http://127.0.0.1:9",
            "--signing-key",
            missing.toString()),
        "--signing-key " + missing + ": no such file");
    assertUsage(
        run("token", "--signing-key", missing.toString()),
        "--signing-key " + missing + ": no such file");
  }

  @Test
  void token_refusesANegativeUser() throws Exception {
    Path key = dir.resolve("k.jwk");
    Files.writeString(
        key,
        new ECKeyGenerator(Curve.P_256).algorithm(JWSAlgorithm.ES256).generate().toJSONString(),
        StandardCharsets.UTF_8);
    assertUsage(
        run("token", "--signing-key", key.toString(), "--user", "-1"),
        "--user must be 0 or more, not -1");
    Result ok = run("token", "--signing-key", key.toString(), "--user", "3");
    assertThat(ok.status()).isZero();
    assertThat(ok.out()).startsWith("ey");
  }

  @Test
  void floor_aPortOutOfRange_isUsage_andAPortInUse_isSaidInWords() throws Exception {
    assertUsage(run("floor", "--port", "99999"), "--port must be 0 to 65535, not 99999");
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Result r = run("floor", "--port", Integer.toString(taken.getLocalPort()));
      assertThat(r.status()).isEqualTo(LoadRun.RUN_FAILED);
      assertThat(r.err())
          .contains("cannot listen on 127.0.0.1:" + taken.getLocalPort())
          .contains("address already in use")
          .doesNotContain("Exception")
          .doesNotContain("io.netty");
    }
  }

  @Test
  void report_ofAFolderWithoutARun_namesTheMissingFile() {
    Path none = dir.resolve("no-run");
    Result r = run("report", none.toString());
    assertThat(r.status()).isEqualTo(LoadRun.RUN_FAILED);
    assertThat(r.err())
        .contains(none.resolve("samples.jsonl") + ": no such file")
        .doesNotContain("java.");
  }
}
