package org.presence.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.SignedJWT;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.identity.DevIdentity;

class PresenceCliTest {
  @TempDir Path dataDir;

  private record Run(int code, String out, String err) {}

  private static Run run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PresenceCli.run(args, env, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void serve_whenDatabaseUrlUnparsable_thenOneLineNamingItAndExit2() {
    Run r =
        run(
            Map.of(),
            "serve",
            "--data-dir",
            dataDir.toString(),
            "--database-url",
            "mysql://x",
            "--set",
            "identity.dev-signing=true");
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: store.database.url: ");
  }

  @Test
  void serve_whenPostgresUnreachable_thenOneLineNamingItAndExit1() throws Exception {
    Run r =
        run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data-dir",
            dataDir.toString(),
            "--database-url",
            "jdbc:postgresql://127.0.0.1:" + closedPort() + "/presence",
            "--set",
            "identity.dev-signing=true");
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_STARTUP);
    assertThat(r.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: store.database.url: cannot use PostgreSQL");
  }

  @Test
  void serve_whenRedisUnreachable_thenOneLineNamingItAndExit1() throws Exception {
    Run r =
        run(
            Map.of(),
            "serve",
            "--port",
            "0",
            "--data-dir",
            dataDir.toString(),
            "--redis-url",
            "redis://127.0.0.1:" + closedPort(),
            "--set",
            "identity.dev-signing=true");
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_STARTUP);
    assertThat(r.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: store.redis.url: cannot connect to Redis");
  }

  @Test
  void serve_whenPortTaken_thenOneLineNamingItAndExit1() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      Run r =
          run(
              Map.of(),
              "serve",
              "--port",
              Integer.toString(taken.getLocalPort()),
              "--data-dir",
              dataDir.toString());
      assertThat(r.code()).isEqualTo(PresenceCli.EXIT_STARTUP);
      assertThat(r.err().lines()).singleElement().asString().startsWith("presence: gateway.port: ");
    }
  }

  @Test
  void serve_whenEnvSettingBad_thenNamesTheSetting() {
    Run r =
        run(Map.of("PRESENCE__GATEWAY__PORT", "eighty"), "serve", "--data-dir", dataDir.toString());
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err()).startsWith("presence: gateway.port: ");
  }

  @Test
  void devToken_printsATokenSignedWithTheDataDirKey() throws Exception {
    Run r =
        run(
            Map.of(),
            "dev-token",
            "--email",
            "Alice@Example.com",
            "--data-dir",
            dataDir.toString());
    assertThat(r.code()).isZero();
    SignedJWT jwt = SignedJWT.parse(r.out().trim());
    ECKey key = (ECKey) DevIdentity.loadOrCreate(dataDir).publicKeys().getKeys().get(0);
    assertThat(jwt.verify(new ECDSAVerifier(key))).isTrue();
    assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo("dev:alice@example.com");
    assertThat(jwt.getJWTClaimsSet().getStringClaim("email")).isEqualTo("Alice@Example.com");
    assertThat(jwt.getJWTClaimsSet().getIssuer()).isEqualTo("presence-dev");
    assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("presence");
    long ttl = jwt.getJWTClaimsSet().getExpirationTime().getTime() - new Date().getTime();
    assertThat(ttl).isBetween(3_500_000L, 3_600_000L);
  }

  @Test
  void devToken_lifetimeFlag() throws Exception {
    Run r =
        run(
            Map.of(),
            "dev-token",
            "--email",
            "a@b.c",
            "--lifetime",
            "10m",
            "--data-dir",
            dataDir.toString());
    assertThat(r.code()).isZero();
    long ttl =
        SignedJWT.parse(r.out().trim()).getJWTClaimsSet().getExpirationTime().getTime()
            - new Date().getTime();
    assertThat(ttl).isBetween(590_000L, 600_000L);
  }

  @Test
  void devToken_whenDevSigningOff_thenRefused() {
    Run r =
        run(
            Map.of(),
            "dev-token",
            "--email",
            "a@b.c",
            "--data-dir",
            dataDir.toString(),
            "--set",
            "identity.dev-signing=false",
            "--set",
            "identity.jwks-url=https://accounts.example.com/jwks.json");
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err()).startsWith("presence: identity.dev-signing: ");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void devToken_whenEmailMalformed_thenRefused() {
    Run r = run(Map.of(), "dev-token", "--email", "not an email", "--data-dir", dataDir.toString());
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err()).contains("--email");
  }

  @Test
  void serve_whenClusterHasNoIdentityKeys_thenNamesTheSetting() {
    Run r =
        run(
            Map.of(),
            "serve",
            "--data-dir",
            dataDir.toString(),
            "--database-url",
            "postgresql://db/presence",
            "--redis-url",
            "redis://127.0.0.1:6379");
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: identity.jwks-url: ");
  }

  @Test
  void devSignInOnAPublicAddress_isRefusedAtStart_unlessForcedByItsFlag() {
    Run refused =
        run(
            Map.of(),
            "serve",
            "--host",
            "0.0.0.0",
            "--data-dir",
            dataDir.toString(),
            "--set",
            "identity.dev-signing=true",
            "--set",
            "web.dev-sign-in=true");
    assertThat(refused.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(refused.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: web.dev-sign-in: ");
    // The flag's setting forces it (dev-token loads the same configuration without binding a
    // port; the flag itself is serve's only).
    ServeOptions flag = new ServeOptions();
    flag.allowDevSignInOnPublicAddress = true;
    assertThat(flag.asSettings()).containsEntry("web.dev-sign-in-on-public-address", "true");
    Run forced =
        run(
            Map.of(),
            "dev-token",
            "--email",
            "a@b.c",
            "--set",
            "gateway.host=0.0.0.0",
            "--set",
            "web.dev-sign-in-on-public-address=true",
            "--data-dir",
            dataDir.toString(),
            "--set",
            "identity.dev-signing=true",
            "--set",
            "web.dev-sign-in=true");
    assertThat(forced.code()).as(forced.err()).isZero();
    assertThat(forced.out()).isNotBlank();
  }

  @Test
  void help_listsEachCommandInAWholeSentence_andEachCommandsOwnOptions() {
    Run top = run(Map.of(), "--help");
    assertThat(top.code()).isZero();
    for (String command : List.of("serve", "dev-token", "device", "daemon")) {
      String line =
          top.out()
              .lines()
              .filter(l -> l.strip().startsWith(command + " "))
              .findFirst()
              .orElseThrow()
              .strip();
      assertThat(line).as("presence --help: " + command).endsWith(".");
    }
    Run device = run(Map.of(), "device", "--help");
    assertThat(device.out())
        .contains("--url", "--port", "The node's port to connect to", "--data-dir", "--set")
        .doesNotContain("Port to bind", "--admin-port", "--database-url", "--redis-url")
        .doesNotContain("--node-id", "--log-format", "--allow-dev-sign-in-on-public-address");
    Run devToken = run(Map.of(), "dev-token", "--help");
    assertThat(devToken.out())
        .contains("--email", "--lifetime", "--data-dir", "--set")
        .doesNotContain("--port", "--host", "--admin-port", "--database-url", "--redis-url");
    assertThat(run(Map.of(), "serve", "--help").out())
        .contains("Port to bind", "--admin-port", "--database-url", "--redis-url");
    // A serve-only flag is a usage error elsewhere, naming the option.
    Run bad = run(Map.of(), "dev-token", "--email", "a@b.c", "--redis-url", "redis://x");
    assertThat(bad.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(bad.err()).contains("--redis-url");
  }

  @Test
  void device_thatCannotConnect_saysWhatFailed() throws Exception {
    int port = closedPort();
    Run r =
        run(
            Map.of(),
            "device",
            "--email",
            "a@example.com",
            "--url",
            "http://127.0.0.1:" + port,
            "--data-dir",
            dataDir.toString());
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_STARTUP);
    assertThat(r.err().lines())
        .last()
        .asString()
        .startsWith("presence: cannot connect to ws://127.0.0.1:" + port + "/presence: ")
        .doesNotContain("ClosedChannelException")
        .contains("refused");
  }

  @Test
  void unknownCommand_isAUsageError() {
    assertThat(run(Map.of(), "frobnicate").code()).isEqualTo(PresenceCli.EXIT_USAGE);
  }

  @Test
  void aMisspeltSetting_isOneLineNamingIt_andExit2() {
    // dev-token reads the configuration as serve does, and does not run on when it is accepted.
    for (Map<String, String> env :
        List.of(Map.<String, String>of(), Map.of("PRESENCE__GATEWAY__DRAIN_TIMOUT", "5s"))) {
      String[] args = {"dev-token", "--email", "a@example.com", "--data-dir", dataDir.toString()};
      if (env.isEmpty()) {
        args =
            java.util.stream.Stream.concat(
                    java.util.Arrays.stream(args),
                    java.util.stream.Stream.of("--set", "gatewy.port=9"))
                .toArray(String[]::new);
      }
      Run r = run(env, args);
      assertThat(r.code()).as(r.err()).isEqualTo(PresenceCli.EXIT_USAGE);
      assertThat(r.err().lines())
          .singleElement()
          .asString()
          .matches("presence: (gatewy\\.port|gateway\\.drain-timout): unknown setting .*")
          .contains("did you mean gateway.");
    }
  }

  @Test
  void aBadOptionValue_isOneLineNamingTheOption() {
    Run r = run(Map.of(), "serve", "--port", "abc");
    assertThat(r.code()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: ")
        .contains("'--port'", "'abc'", "presence serve --help");
  }

  @Test
  void aSettingGivenByItsFlagAndBySet_isOneLineNamingBoth_andExit2() {
    // Before, the flag won and the bad --set value went unreported: the node started on port 0.
    Run r =
        run(
            Map.of(),
            "serve",
            "--data-dir",
            dataDir.toString(),
            "--port",
            "0",
            "--set",
            "gateway.port=70000");
    assertThat(r.code()).as(r.err()).isEqualTo(PresenceCli.EXIT_USAGE);
    assertThat(r.err().lines())
        .singleElement()
        .asString()
        .isEqualTo("presence: gateway.port: given twice, by --port and by --set; give it once");
  }

  @Test
  void aSingleUnderscoreVariable_isWarnedAbout_andTheCommandGoesOn() {
    Run r =
        run(
            Map.of("PRESENCE_GATEWAY__PORT", "9"),
            "dev-token",
            "--email",
            "a@example.com",
            "--data-dir",
            dataDir.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.err().lines())
        .containsExactly(
            "presence: warning: PRESENCE_GATEWAY__PORT is not read: settings take two underscores"
                + " after PRESENCE (PRESENCE__GATEWAY__PORT)");
  }

  @Test
  void startupFailure_isOneLine_namingTheSettingWhereAStartupExceptionIsInTheChain() {
    assertThat(
            ServeCommand.startupFailure(
                new IllegalStateException(
                    "wrapped",
                    new org.presence.store.error.StartupException(
                        "store.redis.url", "cannot take the node's lease: MOVED 1 h:2"))))
        .isEqualTo("store.redis.url: cannot take the node's lease: MOVED 1 h:2");
    String other =
        ServeCommand.startupFailure(
            new java.util.concurrent.CompletionException(
                new IllegalStateException(
                    "redis://u:secret@h:1\nsecond line", new RuntimeException("inner\ntext"))));
    assertThat(other)
        .doesNotContain("\n")
        .startsWith("start-up failed: inner text (java.lang.RuntimeException;");
  }
}
