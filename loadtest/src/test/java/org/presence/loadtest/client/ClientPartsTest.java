package org.presence.loadtest.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientPartsTest {
  @TempDir Path dir;

  @Test
  void sourceAddresses_parseRangesAndRotate() {
    SourceAddresses s = SourceAddresses.parse("127.0.0.1-127.0.0.3,127.0.0.9");
    assertThat(s.spec()).isEqualTo("127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.9");
    assertThat(s.next().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(s.next().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
    assertThat(s.slice(1, 2).spec()).isEqualTo("127.0.0.2,127.0.0.9");
    assertThat(SourceAddresses.parse("").next()).isNull();
    assertThatThrownBy(() -> SourceAddresses.parse("example.org"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SourceAddresses.parse("127.0.0.9-127.0.0.1"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void urls_mapSchemesAndKeepThePathPrefix() {
    URI base = URI.create("http://127.0.0.1:8080/prefix/");
    assertThat(Urls.webSocket(base, "/presence"))
        .hasToString("ws://127.0.0.1:8080/prefix/presence");
    assertThat(Urls.http(URI.create("wss://h"), "/metrics")).hasToString("https://h/metrics");
    assertThat(Urls.isLoopback(base)).isTrue();
    assertThat(Urls.isLoopback(URI.create("http://example.org"))).isFalse();
  }

  @Test
  void tokenMinter_signsAssertionsTheNodeCanVerify() throws Exception {
    ECKey key =
        new ECKeyGenerator(Curve.P_256).keyID("k1").algorithm(JWSAlgorithm.ES256).generate();
    Path file = dir.resolve("dev-identity.jwk");
    Files.writeString(file, key.toJSONString());
    TokenMinter m =
        new TokenMinter(
            TokenMinter.load(file), "presence-dev", "presence", "dev:", Duration.ofHours(1));
    SignedJWT jwt = SignedJWT.parse(m.mint(7));
    assertThat(jwt.verify(new ECDSAVerifier(key.toPublicJWK()))).isTrue();
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(jwt.getHeader().getKeyID()).isEqualTo("k1");
    assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo("dev:load-7@loadtest.invalid");
    assertThat(jwt.getJWTClaimsSet().getIssuer()).isEqualTo("presence-dev");
    assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("presence");
    assertThatThrownBy(() -> new TokenMinter(key.toPublicJWK(), "i", "a", "", Duration.ofHours(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void presenceProbe_readsPrometheusText() {
    Map<String, Double> m =
        PresenceProbe.parse(
            "# HELP x\njvm_memory_heap_used 3.2083968E7\npresence_connections_open{kind=\"device\"} 5.0\nbad line\n");
    assertThat(m).containsEntry("jvm_memory_heap_used", 3.2083968E7);
    assertThat(m).containsEntry("presence_connections_open{kind=\"device\"}", 5.0);
  }

  @Test
  void procStatus_readsRss() throws Exception {
    Path status = dir.resolve("status");
    Files.writeString(status, "Name:\tjava\nVmRSS:\t  2048 kB\n");
    assertThat(ProcStatus.rssBytes(status)).isEqualTo(2048 * 1024);
    assertThat(ProcStatus.rssBytes(dir.resolve("missing"))).isEqualTo(-1);
    assertThat(ProcStatus.rssBytes(ProcessHandle.current().pid())).isPositive();
  }

  @Test
  void errorKinds_areStableLabels() {
    assertThat(ClientException.kindOf(ClientException.errno(34, "Invalid assertion")))
        .isEqualTo("errno 34");
    assertThat(
            ClientException.kindOf(
                new java.util.concurrent.CompletionException(new java.net.ConnectException())))
        .isEqualTo("connect-refused");
    assertThat(Reply.error(-5, "x").sessionLost()).isTrue();
    assertThat(Reply.error(40, "x").sessionLost()).isFalse();
  }
}
