package org.presence.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;

  /**
   * The problems {@link ConfigLoader#load} reports together when it refuses {@code flags} (with no
   * file and no environment); fails the test if it accepts them.
   */
  private List<String> problems(Map<String, String> flags) {
    return problems(null, Map.of(), flags);
  }

  @Test
  void bodiesInFlight_belowTheLargestBodyARouteTakes_isRefused_namingBoth() {
    assertThat(problems(Map.of("gateway.max-body-bytes-in-flight", "512k")))
        .anyMatch(
            p ->
                p.startsWith("gateway.max-body-bytes-in-flight: ")
                    && p.contains("1048576")
                    && p.contains("notifications.max-body-bytes"));
    PresenceConfig c =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "gateway.max-body-bytes-in-flight",
                "512k",
                "notifications.max-body-bytes",
                "256k"));
    assertThat(c.gateway().maxBodyBytesInFlight()).isEqualTo(512 * 1024);
  }

  @Test
  void load_whenNothingConfigured_thenEmbeddedDefaultOnLoopback8080() {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.gateway().host()).isEqualTo("127.0.0.1");
    assertThat(c.gateway().port()).isEqualTo(8080);
    assertThat(c.embedded()).isTrue();
    assertThat(c.identity().devSigning()).isTrue();
    assertThat(c.dataDir()).isEqualTo(Path.of("presence-data"));
    assertThat(c.limits().maxFrameBytes()).isEqualTo(8 * 1024);
    assertThat(c.logging().format()).isEqualTo(LoggingConfig.Format.TEXT);
    assertThat(c.nodeId()).isNotBlank();
  }

  @Test
  void load_flagsOverEnvOverFile() throws Exception {
    Path file = dir.resolve("p.conf");
    Files.writeString(
        file,
        "presence.gateway.port = 1111\npresence.gateway.host = \"0.0.0.0\"\n"
            + "presence.identity.dev-signing = true\n"
            + "presence.node-id = from-file\npresence.limits.max-frame-bytes = 4k\n");
    Map<String, String> env =
        Map.of(
            "PRESENCE__GATEWAY__PORT", "2222",
            "PRESENCE__NODE_ID", "from-env",
            "PRESENCE__LIMITS__MAX_FRAME_BYTES", "16k",
            "UNRELATED", "x");
    Map<String, String> flags = Map.of("gateway.port", "3333");
    PresenceConfig c = ConfigLoader.load(file, env, flags);
    assertThat(c.gateway().port()).isEqualTo(3333);
    assertThat(c.nodeId()).isEqualTo("from-env");
    assertThat(c.limits().maxFrameBytes()).isEqualTo(16 * 1024);
    assertThat(c.gateway().host()).isEqualTo("0.0.0.0");
  }

  @Test
  void load_adminPort_isOnLoopback8081ByDefault_andMustDifferFromTheGatewayPort() {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.admin().enabled()).isTrue();
    assertThat(c.admin().host()).isEqualTo("127.0.0.1");
    assertThat(c.admin().port()).isEqualTo(8081);
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("admin.enabled", "false")).admin().enabled())
        .isFalse();
    assertThat(problems(Map.of("admin.port", "8080")))
        .singleElement()
        .asString()
        .startsWith("admin.port: ");
  }

  @Test
  void load_retention_defaultsAndFloors() {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.retention())
        .isEqualTo(
            new RetentionConfig(
                java.time.Duration.ofDays(90),
                java.time.Duration.ofDays(90),
                java.time.Duration.ofDays(30),
                java.time.Duration.ofDays(90),
                java.time.Duration.ofHours(1),
                1000));
    assertThat(c.store().queueRetention()).isEqualTo(java.time.Duration.ofDays(30));
    PresenceConfig set =
        ConfigLoader.load(null, Map.of(), Map.of("retention.notification-queues", "7d"));
    assertThat(set.store().queueRetention()).isEqualTo(java.time.Duration.ofDays(7));
    assertThat(
            problems(
                Map.of(
                    "retention.revoked-puids", "12h",
                    "retention.client-mappings", "1d",
                    "retention.notification-queues", "30m",
                    "retention.revoked-devices", "23h",
                    "retention.sweep-interval", "0s",
                    "retention.sweep-batch", "10001")))
        .contains(
            "retention.revoked-puids: must be at least 1d",
            "retention.client-mappings: must be at least 2d",
            "retention.notification-queues: must be at least 1h",
            "retention.revoked-devices: must be at least 1d")
        .anyMatch(p -> p.startsWith("retention.sweep-interval: "))
        .anyMatch(p -> p.startsWith("retention.sweep-batch: "));
  }

  @Test
  void load_maxQueuedPerApp_reachesTheStore_andMustBePositive() {
    assertThat(ConfigLoader.load(null, Map.of(), Map.of()).store().maxQueuedPerApp())
        .isEqualTo(1_000_000);
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("notifications.max-queued-per-app", "5000"))
                .store()
                .maxQueuedPerApp())
        .isEqualTo(5000);
    assertThat(problems(Map.of("notifications.max-queued-per-app", "0")))
        .contains("notifications.max-queued-per-app: must be at least 1");
  }

  @Test
  void fromEnv_mapsDoubleUnderscoresToDotsAndSinglesToDashes() {
    assertThat(ConfigLoader.fromEnv(Map.of("PRESENCE__STORE__REDIS__KEY_PREFIX", "x:")))
        .containsEntry("store.redis.key-prefix", "x:");
    assertThat(ConfigLoader.fromEnv(Map.of("PRESENCEX", "1", "PRESENCE__", "2"))).isEmpty();
  }

  @Test
  void load_whenClusterConfigured_thenDevSigningOffByDefault() {
    PresenceConfig c =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "store.database.url", "postgresql://u:p@db:5432/presence",
                "store.redis.url", "redis://redis:6379",
                "identity.jwks-url", "https://accounts.example.com/jwks.json"));
    assertThat(c.embedded()).isFalse();
    assertThat(c.identity().devSigning()).isFalse();
  }

  @Test
  void load_appsDefaults_allowLoopbackAndDevSignInOnlyInTheEmbeddedDefault() {
    PresenceConfig embedded = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(embedded.outbound().allowLoopback()).isTrue();
    assertThat(embedded.outbound().allowPrivate()).isFalse();
    assertThat(embedded.outbound().allowLinkLocal()).isFalse();
    assertThat(embedded.web().devSignIn()).isTrue();
    assertThat(embedded.web().sessionSecret()).isEmpty();
    assertThat(embedded.apps().verifyMaxBytes()).isEqualTo(4096);
    assertThat(embedded.caches().apiKeys().maxSize()).isEqualTo(10_000);
    PresenceConfig cluster =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "store.database.url", "postgresql://u:p@db:5432/presence",
                "store.redis.url", "redis://redis:6379",
                "identity.jwks-url", "https://accounts.example.com/jwks.json"));
    assertThat(cluster.outbound().allowLoopback()).isFalse();
    assertThat(cluster.web().devSignIn()).isFalse();
  }

  @Test
  void load_auto_developmentModeOnlyOnLoopbackWithoutAnIdentityProvider() throws Exception {
    for (String host : List.of("127.0.0.1", "localhost", "127.0.0.5")) {
      PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of("gateway.host", host));
      assertThat(c.identity().devSigning()).as(host).isTrue();
      assertThat(c.web().devSignIn()).as(host).isTrue();
      assertThat(c.outbound().allowLoopback()).as(host).isTrue();
    }
    // The embedded store with an identity provider: development mode is off (issue 12 item 6).
    Path jwks = dir.resolve("provider.json");
    Files.writeString(
        jwks,
        new com.nimbusds.jose.jwk.JWKSet(
                new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_256)
                    .generate()
                    .toPublicJWK())
            .toString());
    for (Map<String, String> provider :
        List.of(
            Map.of("identity.jwks-file", jwks.toString()),
            Map.of("identity.jwks-url", "https://accounts.example.com/jwks.json"))) {
      PresenceConfig c = ConfigLoader.load(null, Map.of(), provider);
      assertThat(c.embedded()).isTrue();
      assertThat(c.identity().devSigning()).as("%s", provider).isFalse();
      assertThat(c.web().devSignIn()).as("%s", provider).isFalse();
      assertThat(c.outbound().allowLoopback()).as("%s", provider).isFalse();
    }
    // An OpenID Connect provider counts too: auto trusts no development-signed token next to it
    // (people sign in with the provider, devices pair), even on the embedded store on loopback.
    PresenceConfig oidc =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "gateway.host", "127.0.0.1",
                "identity.oidc.issuer", "https://accounts.example.com",
                "identity.oidc.client-id", "presence"));
    assertThat(oidc.embedded()).isTrue();
    assertThat(oidc.identity().devSigning()).isFalse();
    assertThat(oidc.web().devSignIn()).isFalse();
    PresenceConfig oidcForced =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "identity.oidc.issuer", "https://accounts.example.com",
                "identity.oidc.client-id", "presence",
                "identity.dev-signing", "true"));
    assertThat(oidcForced.identity().devSigning()).isTrue();
    assertThat(oidcForced.web().devSignIn()).isFalse();
    // Development signing forced next to a provider still gets no passwordless sign-in.
    PresenceConfig forced =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of("identity.jwks-file", jwks.toString(), "identity.dev-signing", "true"));
    assertThat(forced.identity().devSigning()).isTrue();
    assertThat(forced.web().devSignIn()).isFalse();
  }

  @Test
  void load_oidc_defaultsOff_providerTurnsTheDevSignInOff_andBadValuesNamed() {
    PresenceConfig none = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(none.web().oidc().enabled()).isFalse();
    assertThat(none.web().oidc().scopes()).containsExactly("openid", "email");
    assertThat(none.web().oidc().startRate()).isEqualTo(0.2);
    assertThat(none.web().oidc().startBurst()).isEqualTo(20);
    PresenceConfig c =
        ConfigLoader.load(
            null,
            Map.of(),
            Map.of(
                "identity.oidc.issuer", "https://accounts.example.com",
                "identity.oidc.client-id", "presence"));
    assertThat(c.web().oidc().enabled()).isTrue();
    assertThat(c.web().devSignIn()).isFalse();
    assertThat(
            problems(
                Map.of(
                    "identity.oidc.issuer", "ftp://accounts.example.com/?x=1",
                    "identity.oidc.scopes", "email profile",
                    "identity.oidc.start-rate", "-1",
                    "identity.oidc.start-burst", "0")))
        .anyMatch(p -> p.startsWith("identity.oidc.issuer: "))
        .anyMatch(p -> p.startsWith("identity.oidc.client-id: "))
        .anyMatch(p -> p.startsWith("identity.oidc.scopes: "))
        .anyMatch(p -> p.startsWith("identity.oidc.start-rate: "))
        .anyMatch(p -> p.startsWith("identity.oidc.start-burst: "));
  }

  @Test
  void load_grants_documentedDefaultsAndBadValuesNamed() {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.grants()).isEqualTo(new GrantsConfig(10, 100, 0.2, 20));
    assertThat(
            problems(
                Map.of(
                    "grants.max-per-app", "200",
                    "grants.rate", "0",
                    "grants.burst", "-1")))
        .anyMatch(p -> p.startsWith("grants.max-per-app: "))
        .anyMatch(p -> p.startsWith("grants.rate: "))
        .anyMatch(p -> p.startsWith("grants.burst: "));
  }

  @Test
  void load_embeddedOnANonLoopbackAddress_hasNoDevelopmentModeAndNeedsAKeySource() {
    assertThat(problems(Map.of("gateway.host", "0.0.0.0")))
        .singleElement()
        .asString()
        .startsWith("identity.jwks-url: ")
        .contains("loopback");
    PresenceConfig dev =
        ConfigLoader.load(
            null, Map.of(), Map.of("gateway.host", "0.0.0.0", "identity.dev-signing", "true"));
    assertThat(dev.identity().devSigning()).isTrue();
    assertThat(dev.web().devSignIn()).isFalse();
    assertThat(dev.outbound().allowLoopback()).isFalse();
  }

  @Test
  void load_gatewayTransport_isAutoByDefault_oneOfNettysTransports_andNothingElse() {
    assertThat(ConfigLoader.load(null, Map.of(), Map.of()).gateway().transport()).isEqualTo("auto");
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("gateway.transport", "IO_URING"))
                .gateway()
                .transport())
        .isEqualTo("io_uring");
    assertThat(problems(Map.of("gateway.transport", "kqueue")))
        .containsExactly("gateway.transport: must be auto, io_uring, epoll or nio");
  }

  @Test
  void load_aMessageLimitAStoredStateCouldNotBeReadBack_isRefused() {
    // A user's state is read with a 64 Ki chars limit per string: 16,384 code points fit in it.
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("device.max-message-length", "16384"))
                .device()
                .maxMessageLength())
        .isEqualTo(16_384);
    assertThat(problems(Map.of("device.max-message-length", "65537")))
        .anyMatch(p -> p.startsWith("device.max-message-length: must be at most 16384"));
  }

  @Test
  void load_devSignInOnANonLoopbackAddress_isRefusedUnlessForced() {
    Map<String, String> flags =
        Map.of(
            "gateway.host", "0.0.0.0",
            "identity.dev-signing", "true",
            "web.dev-sign-in", "true");
    assertThat(problems(flags))
        .singleElement()
        .asString()
        .startsWith("web.dev-sign-in: ")
        .contains("0.0.0.0")
        .contains("--allow-dev-sign-in-on-public-address");
    Map<String, String> allowed = new java.util.HashMap<>(flags);
    allowed.put("web.dev-sign-in-on-public-address", "true");
    assertThat(ConfigLoader.load(null, Map.of(), allowed).web().devSignIn()).isTrue();
    // On loopback, forcing it needs nothing more.
    assertThat(
            ConfigLoader.load(
                    null, Map.of(), Map.of("web.dev-sign-in", "true", "gateway.host", "::1"))
                .web()
                .devSignIn())
        .isTrue();
  }

  @Test
  void load_whenAppsSettingsAreBad_thenEachIsNamed() {
    Map<String, String> flags =
        Map.of(
            "web.session-secret", "too-short",
            "outbound.allow-private", "maybe",
            "apps.verify-timeout", "0s",
            "caches.grants.max-size", "0",
            "outbound.max-redirects", "-1");
    assertThat(problems(flags))
        .anyMatch(p -> p.startsWith("web.session-secret: "))
        .anyMatch(p -> p.startsWith("outbound.allow-private: "))
        .anyMatch(p -> p.startsWith("apps.verify-timeout: "))
        .anyMatch(p -> p.startsWith("caches.grants.max-size: "))
        .anyMatch(p -> p.startsWith("outbound.max-redirects: "));
  }

  @Test
  void load_outboundAndWebhookSettings_defaultsAndParsing() {
    PresenceConfig embedded = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(embedded.outbound().dnsServers()).isEmpty();
    assertThat(embedded.outbound().dnsTimeout()).isEqualTo(java.time.Duration.ofSeconds(5));
    assertThat(embedded.outbound().trustFile()).isNull();
    assertThat(embedded.apps().verifyOverHttp()).as("auto: where loopback is allowed").isTrue();
    assertThat(embedded.webhooks().maxInFlightPerDeveloper()).isEqualTo(4);
    assertThat(embedded.webhooks().slowCall()).isEqualTo(java.time.Duration.ofSeconds(5));
    PresenceConfig cluster =
        ConfigLoader.load(
            null,
            Map.of("PRESENCE__OUTBOUND__DNS_SERVERS", "10.0.0.53, [2001:db8::53]:5353"),
            Map.of(
                "store.database.url", "postgresql://u:p@db:5432/presence",
                "store.redis.url", "redis://redis:6379",
                "identity.jwks-url", "https://accounts.example.com/jwks.json"));
    assertThat(cluster.apps().verifyOverHttp()).as("HTTPS only in a cluster").isFalse();
    assertThat(cluster.outbound().dnsServers())
        .extracting(a -> a.getAddress().getHostAddress() + "/" + a.getPort())
        .containsExactly("10.0.0.53/53", "2001:db8:0:0:0:0:0:53/5353");
    assertThat(
            problems(
                Map.of(
                    "outbound.dns-servers", "ns.example.com",
                    "outbound.trust-file", "/no/such/file.pem",
                    "webhooks.max-in-flight", "2",
                    "webhooks.max-in-flight-per-developer", "3")))
        .anyMatch(p -> p.startsWith("outbound.dns-servers: "))
        .anyMatch(p -> p.startsWith("outbound.trust-file: "))
        .anyMatch(p -> p.startsWith("webhooks.max-in-flight-per-developer: "));
  }

  @Test
  void load_deviceDefaults_areTheDocumentedOnes() {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.device()).isEqualTo(DeviceConfig.defaults());
    assertThat(c.device().maxDevicesPerUser()).isEqualTo(10);
    assertThat(c.push().enabled()).isFalse();
    PresenceConfig withPush =
        ConfigLoader.load(
            null,
            Map.of("PRESENCE__PUSH__SECRET", "0123456789abcdef"),
            Map.of("device.rate", "2.5", "device.offline-grace", "0s"));
    assertThat(withPush.push().enabled()).isTrue();
    assertThat(withPush.push().toString()).doesNotContain("0123456789abcdef");
    assertThat(withPush.device().rate()).isEqualTo(2.5);
    assertThat(withPush.device().offlineGrace()).isZero();
  }

  @Test
  void load_whenDeviceSettingsAreBad_thenEachIsNamed() {
    Map<String, String> flags =
        Map.of(
            "device.connect-timeout", "0s",
            "device.ping-interval", "-1s",
            "device.rate", "0",
            "device.burst", "0",
            "device.overdraft", "-1",
            "device.handshake-rate", "-2",
            "device.max-message-length", "-1",
            "device.max-devices-per-user", "0",
            "push.secret", "short");
    assertThat(problems(flags))
        .anyMatch(p -> p.startsWith("device.connect-timeout: "))
        .anyMatch(p -> p.startsWith("device.ping-interval: "))
        .anyMatch(p -> p.startsWith("device.rate: "))
        .anyMatch(p -> p.startsWith("device.burst: "))
        .anyMatch(p -> p.startsWith("device.overdraft: "))
        .anyMatch(p -> p.startsWith("device.handshake-rate: "))
        .anyMatch(p -> p.startsWith("device.max-message-length: "))
        .anyMatch(p -> p.startsWith("device.max-devices-per-user: "))
        .anyMatch(p -> p.startsWith("push.secret: "));
  }

  @Test
  void load_notificationDefaults_areTheDocumentedOnes() {
    NotificationsConfig n = ConfigLoader.load(null, Map.of(), Map.of()).notifications();
    assertThat(n.maxBatch()).isEqualTo(100);
    assertThat(n.maxBodyBytes()).isEqualTo(1 << 20);
    assertThat(n.defaultTtl()).isEqualTo(Duration.ofSeconds(60));
    assertThat(n.rate()).isEqualTo(2000.0);
    assertThat(n.burst()).isEqualTo(10000);
    assertThat(n.actionSchemes()).containsExactly("http", "https", "app");
    assertThat(n.maxTracked()).isEqualTo(100_000);
    assertThat(n.frameItems()).isEqualTo(100);
    assertThat(n.puidCache().maxSize()).isEqualTo(100_000);
    NotificationsConfig custom =
        ConfigLoader.load(
                null,
                Map.of("PRESENCE__NOTIFICATIONS__DEFAULT_TTL", "5m"),
                Map.of("notifications.action-schemes", "[HTTPS, beerchat, https]"))
            .notifications();
    assertThat(custom.defaultTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(custom.actionSchemes()).containsExactly("https", "beerchat");
  }

  @Test
  void load_whenNotificationSettingsAreBad_thenEachIsNamed() {
    for (Map<String, String> flags :
        List.of(
            Map.of("notifications.default-ttl", "4s"),
            Map.of("notifications.default-ttl", "2h"),
            Map.of("notifications.default-ttl", "1500ms"),
            Map.of("notifications.action-schemes", "[javascript]"),
            Map.of("notifications.action-schemes", "[https, DATA]"),
            Map.of("notifications.action-schemes", "[\"not a scheme\"]"),
            Map.of("notifications.action-schemes", "[]"),
            Map.of("notifications.max-batch", "0"),
            Map.of("notifications.max-body-bytes", "0"),
            Map.of("notifications.rate", "0"),
            Map.of("notifications.burst", "0"),
            Map.of("notifications.max-tracked", "0"),
            Map.of("notifications.frame-items", "0"),
            Map.of("notifications.puid-cache.ttl", "0s"))) {
      String key = flags.keySet().iterator().next();
      String setting = key;
      assertThat(problems(flags)).as("%s", flags).anyMatch(p -> p.startsWith(setting + ": "));
    }
  }

  @Test
  void load_trustedProxies_emptyByDefault_listFromFileEnvOrFlag() throws Exception {
    assertThat(ConfigLoader.load(null, Map.of(), Map.of()).gateway().trustedProxies()).isEmpty();
    Path file = dir.resolve("proxies.conf");
    Files.writeString(
        file, "presence.gateway.trusted-proxies = [\"10.0.0.5\", \"10.1.0.0/16\", \"fd00::/8\"]\n");
    assertThat(ConfigLoader.load(file, Map.of(), Map.of()).gateway().trustedProxies())
        .containsExactly("10.0.0.5", "10.1.0.0/16", "fd00::/8");
    assertThat(
            ConfigLoader.load(
                    null, Map.of("PRESENCE__GATEWAY__TRUSTED_PROXIES", "10.0.0.5, ::1"), Map.of())
                .gateway()
                .trustedProxies())
        .containsExactly("10.0.0.5", "::1");
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("gateway.trusted-proxies", "127.0.0.1/32"))
                .gateway()
                .trustedProxies())
        .containsExactly("127.0.0.1/32");
  }

  @Test
  void load_whenATrustedProxyIsBad_thenTheSettingAndEntryAreNamed() {
    for (String bad : List.of("lb.internal", "10.0.0.0/40", "10.0.0.1/8", "fd00::/200")) {
      assertThat(problems(Map.of("gateway.trusted-proxies", "[10.0.0.5, " + bad + "]")))
          .as(bad)
          .singleElement()
          .asString()
          .startsWith("gateway.trusted-proxies: ")
          .contains("'" + bad + "'");
    }
    // Not a list at all.
    Path file = dir.resolve("bad-proxies.conf");
    assertThatThrownBy(
            () -> {
              Files.writeString(file, "presence.gateway.trusted-proxies { a = 1 }\n");
              ConfigLoader.load(file, Map.of(), Map.of());
            })
        .isInstanceOfSatisfying(
            InvalidConfigException.class,
            e -> assertThat(e.problems()).anyMatch(p -> p.startsWith("gateway.trusted-proxies: ")));
  }

  @Test
  void load_connectionCaps_defaultsAndLayers() {
    GatewayConfig d = ConfigLoader.load(null, Map.of(), Map.of()).gateway();
    assertThat(d.maxPendingConnectionsPerAddress()).isEqualTo(256);
    assertThat(d.maxConnectionsPerAddress()).isZero();
    assertThat(d.maxPendingConnections()).isEqualTo(8192);
    assertThat(d.connectionCapExempt()).containsExactly("127.0.0.0/8", "::1");
    GatewayConfig set =
        ConfigLoader.load(
                null,
                Map.of("PRESENCE__GATEWAY__CONNECTION_CAP_EXEMPT", "10.0.0.0/8, fd00::/8"),
                Map.of(
                    "gateway.max-pending-connections-per-address", "0",
                    "gateway.max-connections-per-address", "5000",
                    "gateway.max-pending-connections", "0"))
            .gateway();
    assertThat(set.maxPendingConnections()).isZero();
    assertThat(set.maxPendingConnectionsPerAddress()).isZero();
    assertThat(set.maxConnectionsPerAddress()).isEqualTo(5000);
    assertThat(set.connectionCapExempt()).containsExactly("10.0.0.0/8", "fd00::/8");
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("gateway.connection-cap-exempt", "[]"))
                .gateway()
                .connectionCapExempt())
        .isEmpty();
  }

  @Test
  void load_whenAConnectionCapIsBad_thenEachSettingIsNamed() {
    assertThat(
            problems(
                Map.of(
                    "gateway.max-pending-connections-per-address", "-1",
                    "gateway.max-connections-per-address", "many",
                    "gateway.max-pending-connections", "-5",
                    "gateway.connection-cap-exempt", "[127.0.0.1, 10.0.0.1/8]")))
        .hasSize(4)
        .contains("gateway.max-pending-connections: must not be negative")
        .anySatisfy(
            p ->
                assertThat(p)
                    .isEqualTo(
                        "gateway.max-pending-connections-per-address: must not be" + " negative"))
        .anySatisfy(p -> assertThat(p).startsWith("gateway.max-connections-per-address: "))
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith("gateway.connection-cap-exempt: ")
                    .contains("'10.0.0.1/8'"));
  }

  @Test
  void load_whenClusterHasNoKeySource_thenProblemNamesJwksUrl() {
    assertThat(
            problems(
                Map.of(
                    "store.database.url", "postgresql://db/presence",
                    "store.redis.url", "redis://redis:6379")))
        .singleElement()
        .asString()
        .startsWith("identity.jwks-url: ");
  }

  @Test
  void load_whenSettingsAreBad_thenEveryProblemIsNamed() {
    Map<String, String> flags =
        Map.of(
            "gateway.port", "70000",
            "store.database.url", "mysql://nope",
            "store.redis.url", "http://not-redis",
            "gateway.drain-timeout", "soon",
            "logging.format", "xml",
            "identity.dev-signing", "maybe");
    assertThat(problems(flags))
        .anyMatch(p -> p.startsWith("gateway.port: "))
        .anyMatch(p -> p.startsWith("store.database.url: "))
        .anyMatch(p -> p.startsWith("store.redis.url: "))
        .anyMatch(p -> p.startsWith("gateway.drain-timeout: "))
        .anyMatch(p -> p.startsWith("logging.format: "))
        .anyMatch(p -> p.startsWith("identity.dev-signing: "))
        .allMatch(p -> !p.contains("\n"));
  }

  private static Map<String, String> cluster(String redisUrl, String... more) {
    Map<String, String> flags = new java.util.HashMap<>();
    flags.put("store.database.url", "postgresql://db/presence");
    flags.put("store.redis.url", redisUrl);
    flags.put("identity.dev-signing", "true");
    for (int i = 0; i < more.length; i += 2) {
      flags.put(more[i], more[i + 1]);
    }
    return flags;
  }

  @Test
  void load_whenRedisSentinelUrl_thenAcceptedWithReplicaAcknowledgement() {
    PresenceConfig c =
        ConfigLoader.load(
            null,
            Map.of(),
            cluster(
                "redis-sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26380/#presence",
                "store.redis.ack-replicas",
                "1",
                "store.redis.ack-timeout",
                "250ms"));
    assertThat(c.store().redis().url()).startsWith("redis-sentinel://");
    assertThat(c.store().redis().ackReplicas()).isEqualTo(1);
    assertThat(c.store().redis().ackTimeout()).isEqualTo(Duration.ofMillis(250));

    PresenceConfig defaults =
        ConfigLoader.load(null, Map.of(), cluster("redis-sentinel://s1:26379/#presence"));
    assertThat(defaults.store().redis().ackReplicas()).isZero();
    assertThat(defaults.store().redis().ackTimeout()).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void load_whenRedisSentinelUrlIsBad_thenTheProblemShowsTheForm() {
    for (String bad :
        List.of(
            "redis-sentinel://s1:26379",
            "redis-sentinel://s1:26379/#",
            "redis-sentinel:///#presence",
            "redis-sentinel://s1:port/#presence")) {
      assertThat(problems(cluster(bad)))
          .as(bad)
          .singleElement()
          .asString()
          .startsWith("store.redis.url: ")
          .contains("redis-sentinel://host:port[,host:port...]/#<master name>");
    }
  }

  @Test
  void load_whenRedisClusterUrl_thenAccepted() {
    PresenceConfig c =
        ConfigLoader.load(
            null, Map.of(), cluster("redis-cluster://10.0.0.5:7000,10.0.0.6:7001,redis-3:7002"));
    assertThat(c.store().redis().url())
        .isEqualTo("redis-cluster://10.0.0.5:7000,10.0.0.6:7001,redis-3:7002");
  }

  @Test
  void load_whenRedisClusterUrlHasAPasswordAndTls_thenAcceptedAndTheCaFileChecked() {
    PresenceConfig c =
        ConfigLoader.load(
            null, Map.of(), cluster("rediss-cluster://app:s3cret@10.0.0.5:7000,10.0.0.6:7001"));
    assertThat(c.store().redis().url())
        .isEqualTo("rediss-cluster://app:s3cret@10.0.0.5:7000,10.0.0.6:7001");
    assertThat(c.store().redis().tlsCaFile()).isEmpty();
    assertThat(c.store().redis().toString()).doesNotContain("s3cret");
    assertThat(
            problems(
                cluster("rediss://h:6380", "store.redis.tls-ca-file", "/nonexistent/redis-ca.pem")))
        .singleElement()
        .asString()
        .startsWith("store.redis.tls-ca-file: cannot read");
  }

  @Test
  void load_whenRedisUrlWithAPasswordIsBad_thenThePasswordIsNotShown() {
    for (String bad :
        List.of(
            "redis-cluster://app:hunter2@r1",
            "rediss-cluster://app:hunter2@r1:7000/0",
            "redis-sentinel://app:hunter2@s1:26379,s2:x/#m")) {
      assertThat(problems(cluster(bad)))
          .as(bad)
          .singleElement()
          .asString()
          .startsWith("store.redis.url: ")
          .doesNotContain("hunter2");
    }
  }

  @Test
  void load_whenRedisClusterUrlIsBad_thenTheProblemShowsTheForm() {
    for (String bad :
        List.of(
            "redis-cluster://",
            "redis-cluster://r1",
            "redis-cluster://r1:port",
            "redis-cluster://r1:7000,",
            "redis-cluster://r1:7000/0",
            "redis-cluster://r1:70000")) {
      assertThat(problems(cluster(bad)))
          .as(bad)
          .singleElement()
          .asString()
          .startsWith("store.redis.url: ")
          .contains("redis-cluster://host:port[,host:port...]");
    }
  }

  @Test
  void load_whenRedisClusterWithAckReplicas_thenTaken_whenPrefixWithBraces_thenNamed() {
    assertThat(
            ConfigLoader.load(
                    null,
                    Map.of(),
                    cluster("redis-cluster://r1:7000", "store.redis.ack-replicas", "1"))
                .store()
                .redis()
                .ackReplicas())
        .isEqualTo(1);
    assertThat(problems(cluster("redis://r1:6379", "store.redis.key-prefix", "p:{x}:")))
        .singleElement()
        .asString()
        .startsWith("store.redis.key-prefix: must not contain { or }");
  }

  @Test
  void load_whenAckReplicasAreBad_thenNamed() {
    assertThat(problems(cluster("redis://r:6379", "store.redis.ack-replicas", "-1")))
        .singleElement()
        .asString()
        .startsWith("store.redis.ack-replicas: ");
    assertThat(
            problems(
                cluster(
                    "redis://r:6379",
                    "store.redis.ack-replicas",
                    "1",
                    "store.redis.ack-timeout",
                    "2s")))
        .singleElement()
        .asString()
        .isEqualTo("store.redis.ack-timeout: must be below store.redis.command-timeout");
    assertThat(problems(Map.of("store.redis.ack-replicas", "1")))
        .singleElement()
        .asString()
        .startsWith("store.redis.ack-replicas: needs store.redis.url");
  }

  @Test
  void load_whenFileMissingOrBroken_thenOneClearProblem() throws Exception {
    assertThat(problems(dir.resolve("missing.conf"), Map.of(), Map.of()))
        .singleElement()
        .asString()
        .startsWith("config: ");
    Path broken = dir.resolve("broken.conf");
    Files.writeString(broken, "presence { gateway { port = ");
    assertThatThrownBy(() -> ConfigLoader.load(broken, Map.of(), Map.of()))
        .isInstanceOf(InvalidConfigException.class);
  }

  @Test
  void load_parsesTheCheckedInSample() {
    Path sample = Path.of("..", "config", "presence.sample.conf");
    PresenceConfig c = ConfigLoader.load(sample, Map.of("PRESENCE_DB_PASSWORD", "pw"), Map.of());
    assertThat(c.nodeId()).isEqualTo("gw-1");
    assertThat(c.store().database().url()).startsWith("postgresql://");
    assertThat(c.store().redis().url()).startsWith("redis://");
    assertThat(c.identity().devSigning()).isFalse();
    assertThat(c.logging().format()).isEqualTo(LoggingConfig.Format.JSON);
    assertThat(c.gateway().drainTimeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(c.gateway().trustedProxies()).containsExactly("10.0.0.2", "10.0.0.3");
  }

  private List<String> problems(Path file, Map<String, String> env, Map<String, String> flags) {
    try {
      ConfigLoader.load(file, env, flags);
    } catch (InvalidConfigException e) {
      return e.problems();
    }
    throw new AssertionError("loaded without a problem");
  }

  @Test
  void load_unknownSettings_areRefusedNamingTheKey_withTheCloseOne() throws Exception {
    assertThat(problems(Map.of("gatewy.port", "9999")))
        .containsExactly(
            "gatewy.port: unknown setting (--set gatewy.port); did you mean gateway.port?");
    assertThat(problems(Map.of("gateway.drain-timout", "30s")))
        .containsExactly(
            "gateway.drain-timout: unknown setting (--set gateway.drain-timout); did you mean"
                + " gateway.drain-timeout?");
    assertThat(problems(null, Map.of("PRESENCE__GATEWAY__DRAIN_TIMOUT", "5s"), Map.of()))
        .containsExactly(
            "gateway.drain-timout: unknown setting (PRESENCE__GATEWAY__DRAIN_TIMOUT); did you mean"
                + " gateway.drain-timeout?");
    // Nothing close: no guess.
    assertThat(problems(Map.of("frobnicate", "1")))
        .containsExactly("frobnicate: unknown setting (--set frobnicate)");
    Path typo = dir.resolve("typo.conf");
    Files.writeString(typo, "presence {\n  clustr { lease = 5s }\n}\n");
    assertThat(problems(typo, Map.of(), Map.of()))
        .containsExactly(
            "clustr.lease: unknown setting in " + typo + " line 2; did you mean cluster.lease?");
    Path bare = dir.resolve("bare.conf");
    Files.writeString(bare, "gateway { port = 9 }\nother = 1\n");
    assertThat(problems(bare, Map.of(), Map.of()))
        .containsExactly(
            "gateway.port: outside the presence block in "
                + bare
                + " line 1; settings go inside presence { ... }",
            "other: outside the presence block in "
                + bare
                + " line 2 (the node reads presence { ... } only)");
    Path scalar = dir.resolve("scalar.conf");
    Files.writeString(scalar, "presence = 1\n");
    assertThat(problems(scalar, Map.of(), Map.of()))
        .singleElement()
        .asString()
        .startsWith("config: ");
  }

  @Test
  void load_knownSettings_listsAndOtherVariables_passTheCheck() throws Exception {
    Path file = dir.resolve("ok.conf");
    Files.writeString(
        file,
        "presence {\n  gateway { trusted-proxies = [\"10.0.0.5\"] }\n"
            + "  caches.grants { max-size = 5, ttl = 1m }\n"
            + "  notifications.puid-cache.ttl = 1m\n}\n");
    PresenceConfig c =
        ConfigLoader.load(
            file,
            Map.of(
                "PRESENCE_JAVA_OPTS", "-Xmx1g",
                "PRESENCE_TEST_DATABASE_URL", "x",
                "OTEL_SERVICE_NAME", "p",
                "HOME", "/root",
                "PRESENCE__IDENTITY__OIDC__START_RATE", "1"),
            Map.of("notifications.action-schemes", "https"));
    assertThat(c.caches().grants().maxSize()).isEqualTo(5);
    assertThat(c.gateway().trustedProxies()).containsExactly("10.0.0.5");
  }

  @Test
  void load_singleUnderscoreAfterPresence_isNotReadButWarned() {
    List<String> warnings = new java.util.ArrayList<>();
    PresenceConfig c =
        ConfigLoader.load(
            null,
            Map.of("PRESENCE_GATEWAY__PORT", "9", "PRESENCE_JAVA_OPTS", "-Xmx1g"),
            Map.of(),
            warnings::add);
    assertThat(c.gateway().port()).isEqualTo(8080);
    assertThat(warnings)
        .containsExactly(
            "warning: PRESENCE_GATEWAY__PORT is not read: settings take two underscores after"
                + " PRESENCE (PRESENCE__GATEWAY__PORT)");
  }

  @Test
  void load_jwksFileThatHoldsNoKey_isRefusedNamingIt() throws Exception {
    Path garbage = dir.resolve("garbage.json");
    Files.writeString(garbage, "-----BEGIN CERTIFICATE-----\nxyz\n");
    assertThat(problems(Map.of("identity.jwks-file", garbage.toString())))
        .singleElement()
        .asString()
        .startsWith("identity.jwks-file: " + garbage + " is not a JSON Web Key Set");
    Path empty = dir.resolve("empty.json");
    Files.writeString(empty, "{\"keys\":[]}");
    assertThat(problems(Map.of("identity.jwks-file", empty.toString())))
        .containsExactly("identity.jwks-file: " + empty + " holds no public key");
  }

  @Test
  void load_backendSettings_areCheckedUnderTheirOwnName() throws Exception {
    assertThat(problems(Map.of("store.database.connect-timeout", "100ms")))
        .containsExactly("store.database.connect-timeout: must be at least 250ms");
    assertThat(problems(Map.of("store.database.connect-timeout", "0s")))
        .singleElement()
        .asString()
        .startsWith("store.database.connect-timeout: ");
    assertThat(problems(Map.of("store.redis.command-timeout", "0s")))
        .containsExactly("store.redis.command-timeout: must be longer than zero");
    assertThat(problems(Map.of("gateway.http-idle-timeout", "0s")))
        .containsExactly("gateway.http-idle-timeout: must be longer than zero");
    Path garbage = dir.resolve("ca.pem");
    Files.writeString(garbage, "garbage\n");
    assertThat(problems(Map.of("store.redis.tls-ca-file", garbage.toString())))
        .singleElement()
        .asString()
        .startsWith("store.redis.tls-ca-file: " + garbage + " holds no PEM certificate");
    assertThat(problems(Map.of("outbound.trust-file", garbage.toString())))
        .singleElement()
        .asString()
        .startsWith("outbound.trust-file: ");
    Map<String, String> cluster = Map.of("identity.dev-signing", "true");
    for (String url : List.of("redis://:pw@127.0.0.1:notaport", "rediss://h:70000/0")) {
      Map<String, String> flags = new java.util.HashMap<>(cluster);
      flags.put("store.redis.url", url);
      assertThat(problems(flags))
          .as(url)
          .singleElement()
          .asString()
          .startsWith("store.redis.url: the port of ")
          .doesNotContain("pw");
    }
    for (String url :
        List.of(
            "redis://:pw@127.0.0.1:6379/0", "rediss://h", "redis://[::1]:6379", "redis://h/2")) {
      Map<String, String> flags = new java.util.HashMap<>(cluster);
      flags.put("store.redis.url", url);
      assertThat(ConfigLoader.load(null, Map.of(), flags).store().redis().url()).isEqualTo(url);
    }
  }

  @Test
  void load_threadAndSizeSettings_haveAnUpperBound() {
    assertThat(problems(Map.of("gateway.io-threads", "100000")))
        .containsExactly("gateway.io-threads: must be at most 1024");
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("gateway.io-threads", "1024"))
                .gateway()
                .ioThreads())
        .isEqualTo(1024);
    assertThat(problems(Map.of("store.database.threads", "5000")))
        .containsExactly("store.database.threads: must be at most 1024");
    assertThat(problems(Map.of("store.database.queue", "2000000000")))
        .containsExactly("store.database.queue: must be at most 1000000");
    assertThat(problems(Map.of("updates.buffer-size", "100000000")))
        .containsExactly("updates.buffer-size: must be at most 100000");
  }

  @Test
  void load_durationWithoutAUnit_isRefused_butZeroIsZero() throws Exception {
    assertThat(problems(Map.of("gateway.drain-timeout", "10")))
        .singleElement()
        .asString()
        .startsWith("gateway.drain-timeout: needs a unit");
    Path file = dir.resolve("d.conf");
    Files.writeString(file, "presence.gateway.close-linger = 2000\n");
    assertThat(problems(file, Map.of(), Map.of()))
        .singleElement()
        .asString()
        .startsWith("gateway.close-linger: needs a unit");
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("gateway.drain-timeout", "0"))
                .gateway()
                .drainTimeout())
        .isZero();
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("gateway.drain-timeout", "1.5s"))
                .gateway()
                .drainTimeout())
        .isEqualTo(Duration.ofMillis(1500));
  }
}
