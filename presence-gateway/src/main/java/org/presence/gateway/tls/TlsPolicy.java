package org.presence.gateway.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's one TLS policy for every server port that speaks TLS (the gateway and admin ports with
 * {@code tls.*}, XMPP's STARTTLS and direct TLS): BoringSSL through netty-tcnative when its native
 * library loads, else the JDK's TLS (said once in the log); TLS 1.3 and 1.2 only; AEAD ciphers with
 * forward secrecy only (AES-GCM and ChaCha20-Poly1305 over ECDHE in TLS 1.2; TLS 1.3's three).
 */
public final class TlsPolicy {
  private static final Logger LOG = LoggerFactory.getLogger(TlsPolicy.class);

  /** The protocols a client may use, newest first. */
  public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  /** The cipher suites a client may use, in the server's order of preference (Java names). */
  public static final List<String> CIPHERS =
      List.of(
          "TLS_AES_128_GCM_SHA256",
          "TLS_AES_256_GCM_SHA384",
          "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  private static final SslProvider PROVIDER = chooseProvider();

  private TlsPolicy() {}

  /** The provider every context of this node uses. */
  public static SslProvider provider() {
    return PROVIDER;
  }

  /** Applies the policy (provider, protocols, ciphers) to a server context's builder. */
  public static SslContextBuilder apply(SslContextBuilder builder) {
    return apply(builder, PROVIDER);
  }

  /** Applies the policy with {@code provider} (tests check the JDK fallback this way). */
  static SslContextBuilder apply(SslContextBuilder builder, SslProvider provider) {
    return builder
        .sslProvider(provider)
        .protocols(PROTOCOLS)
        .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE);
  }

  private static SslProvider chooseProvider() {
    if (OpenSsl.isAvailable()) {
      LOG.debug("TLS with {} (netty-tcnative)", OpenSsl.versionString());
      return SslProvider.OPENSSL;
    }
    Throwable cause = OpenSsl.unavailabilityCause();
    LOG.info(
        "TLS with the JDK's provider: netty-tcnative (BoringSSL) did not load: {}",
        cause == null ? "unknown reason" : cause.toString());
    return SslProvider.JDK;
  }
}
