package org.presence.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code xmpp.*} settings: on in the embedded default only, and a certificate elsewhere. */
class XmppConfigTest {
  private static final Map<String, String> CLUSTER =
      Map.of(
          "store.database.url", "postgresql://u:p@db:5432/presence",
          "store.redis.url", "redis://redis:6379",
          "identity.jwks-url", "https://accounts.example.com/jwks.json");

  private static PresenceConfig load(Map<String, String> base, String... kv) {
    Map<String, String> flags = new HashMap<>(base);
    for (int i = 0; i < kv.length; i += 2) {
      flags.put(kv[i], kv[i + 1]);
    }
    return ConfigLoader.load(null, Map.of(), flags);
  }

  @Test
  void auto_isOnInTheEmbeddedDefaultOnly() {
    XmppConfig embedded = load(Map.of()).xmpp();
    assertThat(embedded.port()).isEqualTo(5222);
    assertThat(embedded.host()).isEqualTo("127.0.0.1");
    assertThat(embedded.selfSigned()).isTrue();
    assertThat(embedded.maxStanzaBytes()).isEqualTo(64 * 1024);
    assertThat(embedded.maxDepth()).isEqualTo(16);
    assertThat(embedded.domain()).isNotEmpty();
    assertThat(load(Map.of(), "gateway.port", "0").xmpp().port()).isZero();
    assertThat(load(Map.of(), "xmpp.port", "off").xmpp().enabled()).isFalse();
    assertThat(load(CLUSTER).xmpp().enabled()).isFalse();
  }

  @Test
  void outsideTheEmbeddedDefault_aCertificateIsRequired() {
    assertThatThrownBy(() -> load(CLUSTER, "xmpp.port", "5222"))
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e -> assertThat(e.problems()).singleElement().asString().startsWith("xmpp.tls-cert: "));
    assertThatThrownBy(() -> load(Map.of(), "xmpp.tls-cert", "/etc/cert.pem"))
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e -> assertThat(e.problems()).singleElement().asString().startsWith("xmpp.tls-key: "));
    assertThatThrownBy(() -> load(Map.of(), "xmpp.domain", "not a domain"))
        .isInstanceOf(InvalidConfigException.class);
    XmppConfig x =
        load(CLUSTER, "xmpp.port", "5222", "xmpp.tls-cert", "c.pem", "xmpp.tls-key", "k.pem")
            .xmpp();
    assertThat(x.port()).isEqualTo(5222);
    assertThat(x.selfSigned()).isFalse();
  }

  @Test
  void directTls_followsTheSamePolicy_andNeedsTheXmppPort() {
    assertThat(load(Map.of()).xmpp().tlsPort()).isEqualTo(5223);
    assertThat(load(Map.of()).xmpp().directTls()).isTrue();
    assertThat(load(Map.of(), "gateway.port", "0").xmpp().tlsPort()).isZero();
    assertThat(load(Map.of(), "xmpp.tls-port", "off").xmpp().directTls()).isFalse();
    assertThat(load(Map.of(), "xmpp.port", "off").xmpp().directTls()).isFalse();
    assertThat(load(Map.of(), "xmpp.tls-port", "5299").xmpp().tlsPort()).isEqualTo(5299);
    assertThat(
            load(CLUSTER, "xmpp.port", "5222", "xmpp.tls-cert", "c.pem", "xmpp.tls-key", "k.pem")
                .xmpp()
                .directTls())
        .isFalse();
    assertThat(
            load(
                    CLUSTER,
                    "xmpp.port",
                    "5222",
                    "xmpp.tls-port",
                    "5223",
                    "xmpp.tls-cert",
                    "c.pem",
                    "xmpp.tls-key",
                    "k.pem")
                .xmpp()
                .tlsPort())
        .isEqualTo(5223);
    assertThatThrownBy(() -> load(Map.of(), "xmpp.port", "off", "xmpp.tls-port", "5223"))
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e -> assertThat(e.problems()).singleElement().asString().startsWith("xmpp.tls-port: "));
  }
}
