package org.presence.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestCa;

/**
 * The TLS policy with each provider: BoringSSL (what the node uses here) and the JDK's (the
 * fallback where netty-tcnative does not load) enable TLS 1.3 and 1.2 only, and AEAD ciphers only.
 */
class TlsPolicyTest {
  @TempDir Path dir;

  @Test
  void bothProviders_enableOnlyTls12And13_andAeadCiphers() throws Exception {
    TestCa ca = TestCa.create(dir);
    Path cert = dir.resolve("node.pem");
    Path key = dir.resolve("node.key");
    ca.issue("node", cert, key);
    for (SslProvider provider : new SslProvider[] {SslProvider.OPENSSL, SslProvider.JDK}) {
      SslContext context =
          TlsPolicy.apply(
                  SslContextBuilder.forServer(
                      Files.newInputStream(cert), Files.newInputStream(key)),
                  provider)
              .build();
      SSLEngine engine = context.newEngine(ByteBufAllocator.DEFAULT);
      try {
        // Netty's OpenSSL engine always lists the pseudo-protocol SSLv2Hello (a hello format, not
        // a protocol; BoringSSL has no SSLv2): what it negotiates is TLS 1.3 or 1.2 (NodeTlsTest).
        assertThat(
                java.util.Arrays.stream(engine.getEnabledProtocols())
                    .filter(p -> !p.equals("SSLv2Hello")))
            .as(provider.name())
            .containsExactlyInAnyOrder("TLSv1.3", "TLSv1.2");
        assertThat(engine.getEnabledCipherSuites())
            .as(provider.name())
            .isNotEmpty()
            .allMatch(c -> c.contains("_GCM_") || c.contains("CHACHA20_POLY1305"))
            .allMatch(
                c ->
                    c.startsWith("TLS_AES_")
                        || c.startsWith("TLS_CHACHA20_")
                        || c.startsWith("TLS_ECDHE_"))
            .contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
      } finally {
        ReferenceCountUtil.release(engine);
      }
    }
  }
}
