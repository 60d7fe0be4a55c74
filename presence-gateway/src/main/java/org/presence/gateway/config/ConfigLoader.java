package org.presence.gateway.config;

import com.nimbusds.jose.jwk.JWKSet;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.commons.text.similarity.LevenshteinDistance;
import org.presence.gateway.net.TrustedProxies;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.PostgresUrls;
import org.presence.store.redis.RedisBackend;

/**
 * Builds the {@link PresenceConfig} from four layers, each over the next: flags, environment
 * variables ({@code PRESENCE__GATEWAY__PORT}), a HOCON file, and the defaults in {@code
 * presence-defaults.conf}. Every problem is collected and reported together, one line each, before
 * anything binds a port.
 */
public final class ConfigLoader {
  /** Environment variables with this prefix are settings. */
  public static final String ENV_PREFIX = "PRESENCE__";

  private final List<String> problems = new ArrayList<>();
  private final Config config;

  private ConfigLoader(Config config) {
    this.config = config;
  }

  /**
   * Loads the configuration.
   *
   * @param file a HOCON file, or {@code null}
   * @param env the environment (only {@code PRESENCE__*} entries are read)
   * @param flags settings from the command line, keyed by path below {@code presence} (for example
   *     {@code gateway.port})
   * @throws InvalidConfigException listing every problem found
   */
  public static PresenceConfig load(Path file, Map<String, String> env, Map<String, String> flags) {
    return load(file, env, flags, warning -> {});
  }

  /**
   * As {@link #load(Path, Map, Map)}; {@code warnings} gets one line for each thing that is read
   * but likely not what was meant (a {@code PRESENCE_} variable with a single underscore that would
   * name a setting with two).
   */
  public static PresenceConfig load(
      Path file, Map<String, String> env, Map<String, String> flags, Consumer<String> warnings) {
    Config defaults =
        ConfigFactory.parseResources(
            ConfigLoader.class.getClassLoader(),
            "presence-defaults.conf",
            ConfigParseOptions.defaults().setAllowMissing(false));
    Config fileLayer = ConfigFactory.empty();
    if (file != null) {
      if (!Files.isReadable(file)) {
        throw new InvalidConfigException(List.of("config: cannot read " + file.toAbsolutePath()));
      }
      try {
        fileLayer = ConfigFactory.parseFile(file.toFile());
      } catch (ConfigException e) {
        throw new InvalidConfigException(List.of("config: " + oneLine(e.getMessage())));
      }
    }
    Config flagLayer = ConfigFactory.parseMap(prefixed(flags), "command-line flags");
    Config envLayer = ConfigFactory.parseMap(prefixed(fromEnv(env)), "environment");
    // Settings nobody reads are refused rather than ignored: a misspelt or misplaced key would
    // otherwise leave the node on its default without a word.
    ConfigObject known = defaults.getObject("presence");
    List<String> unknown = new ArrayList<>();
    unknownFlags(flagLayer, known, unknown);
    unknownEnv(env, known, unknown);
    if (file != null) {
      unknownInFile(fileLayer, file, known, unknown);
    }
    misspeltEnvPrefix(env, known).forEach(warnings);
    Config merged;
    try {
      merged =
          flagLayer
              .withFallback(envLayer)
              .withFallback(fileLayer)
              .withFallback(defaults)
              .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false))
              .getConfig("presence");
    } catch (ConfigException e) {
      unknown.add("config: " + oneLine(e.getMessage()));
      throw new InvalidConfigException(unknown);
    }
    ConfigLoader loader = new ConfigLoader(merged);
    loader.problems.addAll(unknown);
    PresenceConfig result = loader.build();
    if (!loader.problems.isEmpty()) {
      throw new InvalidConfigException(loader.problems);
    }
    return result;
  }

  /** {@code --set} paths that name no setting. */
  private static void unknownFlags(Config flagLayer, ConfigObject known, List<String> out) {
    for (String path : leafPaths(flagLayer, "presence")) {
      if (!isKnown(known, path)) {
        out.add(path + ": unknown setting (--set " + path + ")" + suggestion(known, path));
      }
    }
  }

  /** {@code PRESENCE__} variables that name no setting (other variables are not looked at). */
  private static void unknownEnv(Map<String, String> env, ConfigObject known, List<String> out) {
    new TreeMap<>(env)
        .forEach(
            (name, value) -> {
              String path = envPath(name);
              if (path != null && !isKnown(known, path)) {
                out.add(path + ": unknown setting (" + name + ")" + suggestion(known, path));
              }
            });
  }

  /**
   * Keys of the file that name no setting, and keys outside its {@code presence} block (which the
   * node would never read).
   */
  private static void unknownInFile(
      Config fileLayer, Path file, ConfigObject known, List<String> out) {
    ConfigObject root = fileLayer.root();
    List<String> outside = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : fileLayer.entrySet()) {
      if (!ConfigUtil.splitPath(e.getKey()).get(0).equals("presence")) {
        outside.add(e.getKey());
      }
    }
    outside.sort(null);
    for (String path : outside) {
      String hint =
          isKnown(known, path)
              ? "; settings go inside presence { ... }"
              : " (the node reads presence { ... } only)";
      out.add(
          path + ": outside the presence block in " + where(file, fileLayer.getValue(path)) + hint);
    }
    if (root.containsKey("presence")
        && root.get("presence").valueType() == ConfigValueType.OBJECT) {
      Config presence = fileLayer.getConfig("presence");
      for (String path : leafPaths(fileLayer, "presence")) {
        if (!isKnown(known, path)) {
          out.add(
              path
                  + ": unknown setting in "
                  + where(file, presence.getValue(path))
                  + suggestion(known, path));
        }
      }
    }
  }

  private static String where(Path file, ConfigValue value) {
    int line = value.origin().lineNumber();
    return file + (line > 0 ? " line " + line : "");
  }

  /** Paths (below {@code root}) of the leaves of {@code layer}: a list is one leaf. */
  private static List<String> leafPaths(Config layer, String root) {
    List<String> out = new ArrayList<>();
    if (!layer.hasPath(root) || layer.getValue(root).valueType() != ConfigValueType.OBJECT) {
      return out;
    }
    for (Map.Entry<String, ConfigValue> e : layer.getConfig(root).entrySet()) {
      out.add(e.getKey());
    }
    out.sort(null);
    return out;
  }

  /**
   * Whether {@code path} names a setting of the defaults, or a key inside one (no setting is
   * free-form today: every object in the defaults is a fixed set of settings).
   */
  static boolean isKnown(ConfigObject known, String path) {
    ConfigValue v = known;
    for (String key : ConfigUtil.splitPath(path)) {
      if (!(v instanceof ConfigObject o) || !o.containsKey(key)) {
        return false;
      }
      v = o.get(key);
    }
    return true;
  }

  /** "; did you mean x?" when exactly one setting is within a couple of edits of {@code path}. */
  private static String suggestion(ConfigObject known, String path) {
    List<String> all = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : known.toConfig().entrySet()) {
      all.add(e.getKey());
    }
    int allowed = Math.max(2, path.length() / 8);
    LevenshteinDistance distance = new LevenshteinDistance(allowed);
    int best = Integer.MAX_VALUE;
    String match = null;
    boolean tie = false;
    for (String candidate : all) {
      int d = distance.apply(path, candidate);
      if (d < 0) {
        continue; // more than allowed edits away
      }
      if (d < best) {
        best = d;
        match = candidate;
        tie = false;
      } else if (d == best) {
        tie = true;
      }
    }
    return match != null && !tie ? "; did you mean " + match + "?" : "";
  }

  /**
   * Variables that start with {@code PRESENCE_} and a single underscore but would name a setting or
   * section with two ({@code PRESENCE_GATEWAY__PORT}): not read, with a warning. Others ({@code
   * PRESENCE_JAVA_OPTS}, the tests' {@code PRESENCE_TEST_*}) are not settings and pass in silence.
   */
  static List<String> misspeltEnvPrefix(Map<String, String> env, ConfigObject known) {
    List<String> out = new ArrayList<>();
    for (String name : new TreeSet<>(env.keySet())) {
      if (name.startsWith("PRESENCE_") && !name.startsWith(ENV_PREFIX)) {
        String path = envPath("PRESENCE_" + name.substring("PRESENCE".length()));
        if (path != null && known.containsKey(ConfigUtil.splitPath(path).get(0))) {
          out.add(
              "warning: "
                  + name
                  + " is not read: settings take two underscores after PRESENCE ("
                  + "PRESENCE_"
                  + name.substring("PRESENCE".length())
                  + ")");
        }
      }
    }
    return out;
  }

  /** The setting an environment variable names, or null when it is not a {@code PRESENCE__} one. */
  private static String envPath(String name) {
    if (!name.startsWith(ENV_PREFIX) || name.length() <= ENV_PREFIX.length()) {
      return null;
    }
    return name.substring(ENV_PREFIX.length())
        .toLowerCase(Locale.ROOT)
        .replace("__", ".")
        .replace('_', '-');
  }

  /**
   * The settings in {@code env}: {@code PRESENCE__STORE__REDIS__KEY_PREFIX} is {@code
   * store.redis.key-prefix}.
   */
  static Map<String, String> fromEnv(Map<String, String> env) {
    Map<String, String> out = new HashMap<>();
    env.forEach(
        (k, v) -> {
          String path = envPath(k);
          if (path != null) {
            out.put(path, v);
          }
        });
    // OpenTelemetry's standard variables, under the node's own (PRESENCE__OTEL__*) when both are
    // set.
    String otlp = env.get("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (otlp != null && !otlp.isBlank()) {
      out.putIfAbsent("otel.endpoint", otlp.strip());
    }
    String service = env.get("OTEL_SERVICE_NAME");
    if (service != null && !service.isBlank()) {
      out.putIfAbsent("otel.service-name", service.strip());
    }
    return out;
  }

  private static Map<String, String> prefixed(Map<String, String> settings) {
    Map<String, String> out = new HashMap<>();
    settings.forEach((k, v) -> out.put("presence." + k, v));
    return out;
  }

  /**
   * Reads every section in a fixed order (the order in which problems are reported), one method a
   * section.
   */
  private PresenceConfig build() {
    String nodeId = nodeId();
    Path dataDir = Path.of(get("data-dir", config::getString, "presence-data"));
    GatewayConfig gateway = gateway();
    LimitsConfig limits = limits();
    RetentionConfig retention = retention();
    StoreConfig store = store(dataDir, retention);
    boolean loopbackListen = loopbackOnly(gateway.host());
    IdentityConfig identity = identity(store, loopbackListen);
    boolean provider = !identity.jwksUrl().isEmpty() || !identity.jwksFile().isEmpty();
    boolean development = developmentNode(store, provider, loopbackListen);
    LoggingConfig logging = logging();
    boolean embedded = store.embeddedDatabase() && store.localBus();
    OutboundConfig outbound = outbound(development);
    AppsConfig apps = apps(outbound);
    WebConfig web =
        web(gateway, loopbackListen, identity.devSigning() && !provider && loopbackListen);
    CachesConfig caches =
        new CachesConfig(
            cache("caches.api-keys"), cache("caches.grants"), cache("caches.settings"));
    DeviceConfig device = device();
    PushConfig push = push();
    UpdatesConfig updates = updates(embedded);
    WebhooksConfig webhooks = webhooks();
    NotificationsConfig notifications = notifications(limits);
    long largestBody = Math.max(limits.maxRequestBytes(), notifications.maxBodyBytes());
    if (gateway.maxBodyBytesInFlight() < largestBody) {
      // Every request with the largest body a route takes would be refused 503.
      problem(
          "gateway.max-body-bytes-in-flight",
          "must be at least the largest request body a route takes ("
              + largestBody
              + " bytes: limits.max-request-bytes, notifications.max-body-bytes)");
    }
    ClusterConfig cluster = cluster();
    AdminConfig admin = admin(gateway);
    return new PresenceConfig(
        nodeId,
        dataDir,
        gateway,
        limits,
        store,
        identity,
        logging,
        apps,
        outbound,
        web,
        caches,
        device,
        push,
        updates,
        webhooks,
        notifications,
        cluster,
        grants(),
        admin,
        queries(),
        xmpp(gateway, embedded),
        pairing(),
        tls(),
        otel(),
        new SettingsConfig(
            positiveDouble("settings.rate"),
            positive("settings.burst"),
            positiveDouble("settings.read-rate"),
            positive("settings.read-burst")),
        retention);
  }

  /** {@code retention.*}: each retention at least its floor (see presence-defaults.conf). */
  private RetentionConfig retention() {
    RetentionConfig r =
        new RetentionConfig(
            atLeast("retention.revoked-puids", Duration.ofDays(1)),
            atLeast("retention.client-mappings", Duration.ofDays(2)),
            atLeast("retention.notification-queues", Duration.ofHours(1)),
            atLeast("retention.revoked-devices", Duration.ofDays(1)),
            positiveDuration("retention.sweep-interval"),
            atMost(
                positive("retention.sweep-batch"), "retention.sweep-batch", MAX_RETENTION_BATCH));
    return r;
  }

  /** A duration of at least {@code floor}, named in the problem line ({@code 1d}, {@code 1h}). */
  private Duration atLeast(String path, Duration floor) {
    Duration d = duration(path);
    if (d.compareTo(floor) < 0) {
      String f = floor.toDays() > 0 ? floor.toDays() + "d" : floor.toHours() + "h";
      problem(path, "must be at least " + f);
      return floor;
    }
    return d;
  }

  private String nodeId() {
    String nodeId = get("node-id", config::getString, "");
    if (nodeId.isEmpty()) {
      nodeId = defaultNodeId();
    } else if (!nodeId.matches("[A-Za-z0-9._-]{1,64}")) {
      problem("node-id", "must be 1-64 letters, digits, '.', '_' or '-'");
    }
    return nodeId;
  }

  private GatewayConfig gateway() {
    GatewayConfig gateway =
        new GatewayConfig(
            get("gateway.host", config::getString, "127.0.0.1"),
            port("gateway.port"),
            get("gateway.public-url", config::getString, ""),
            atMost(nonNegative("gateway.io-threads"), "gateway.io-threads", MAX_IO_THREADS),
            transport("gateway.transport"),
            duration("gateway.drain-timeout"),
            bytes("gateway.write-buffer-low"),
            bytes("gateway.write-buffer-high"),
            positiveDuration("gateway.http-idle-timeout"),
            positiveDuration("gateway.http-header-timeout"),
            addressBlocks("gateway.trusted-proxies"),
            positiveDuration("gateway.unwritable-timeout"),
            positiveDuration("gateway.close-linger"),
            nonNegative("gateway.max-pending-connections-per-address"),
            nonNegative("gateway.max-connections-per-address"),
            nonNegative("gateway.max-pending-connections"),
            addressBlocks("gateway.connection-cap-exempt"),
            positiveDuration("gateway.http-body-timeout"),
            bytes("gateway.max-body-bytes-in-flight"));
    if (gateway.writeBufferLow() >= gateway.writeBufferHigh()) {
      problem("gateway.write-buffer-low", "must be below gateway.write-buffer-high");
    }
    checkHost("gateway.host", gateway.host());
    return gateway;
  }

  /** A Netty transport's name; whether it works on this machine is checked when the node binds. */
  private String transport(String path) {
    String t = get(path, config::getString, "auto").toLowerCase(Locale.ROOT);
    if (!List.of("auto", "io_uring", "epoll", "nio").contains(t)) {
      problem(path, "must be auto, io_uring, epoll or nio");
    }
    return t;
  }

  private LimitsConfig limits() {
    return new LimitsConfig(
        bytes("limits.max-request-bytes"),
        bytes("limits.max-header-bytes"),
        bytes("limits.max-initial-line-bytes"),
        bytes("limits.max-frame-bytes"));
  }

  /**
   * {@code store.*} (and {@code updates.log-max-per-app}, {@code retention.notification-queues} and
   * {@code notifications.max-queued-per-app}, which the store enforces).
   */
  private StoreConfig store(Path dataDir, RetentionConfig retention) {
    String dbUrl = databaseUrl();
    String redisUrl = redisUrl();
    int ackReplicas = nonNegative("store.redis.ack-replicas");
    Duration ackTimeout = positiveDuration("store.redis.ack-timeout");
    Duration commandTimeout = positiveDuration("store.redis.command-timeout");
    if (ackReplicas > 0 && redisUrl.isEmpty()) {
      problem("store.redis.ack-replicas", "needs store.redis.url (replicas of a Redis)");
    }
    String keyPrefix = get("store.redis.key-prefix", config::getString, "presence:");
    if (keyPrefix.indexOf('{') >= 0 || keyPrefix.indexOf('}') >= 0) {
      problem("store.redis.key-prefix", "must not contain { or } (Redis Cluster hash tags)");
    }
    if (ackReplicas > 0 && ackTimeout.compareTo(commandTimeout) >= 0) {
      problem("store.redis.ack-timeout", "must be below store.redis.command-timeout");
    }
    String schema = get("store.database.schema", config::getString, "public");
    if (!schema.matches("[A-Za-z_][A-Za-z0-9_]{0,62}")) {
      problem("store.database.schema", "must be a plain SQL identifier");
    }
    return new StoreConfig(
        dataDir,
        new StoreConfig.DatabaseConfig(
            dbUrl,
            get("store.database.user", config::getString, ""),
            get("store.database.password", config::getString, ""),
            connectTimeout(),
            schema),
        new StoreConfig.RedisConfig(
            redisUrl,
            keyPrefix,
            commandTimeout,
            Math.max(0, ackReplicas),
            ackTimeout,
            redisTlsCaFile(),
            get("store.redis.decide-on-node", config::getBoolean, true)),
        Math.max(1, atMost(positive("store.database.threads"), "store.database.threads", 1024)),
        Math.max(1, atMost(positive("store.database.queue"), "store.database.queue", 1_000_000)),
        Math.max(1, positive("updates.log-max-per-app")),
        retention.notificationQueues(),
        Math.max(1, positive("notifications.max-queued-per-app")));
  }

  /** The pool waits at least 250 ms for a connection (HikariCP's least). */
  private Duration connectTimeout() {
    Duration d = positiveDuration("store.database.connect-timeout");
    if (d.compareTo(Duration.ofMillis(250)) < 0) {
      problem("store.database.connect-timeout", "must be at least 250ms");
      return Duration.ofMillis(250);
    }
    return d;
  }

  private String databaseUrl() {
    String dbUrl = get("store.database.url", config::getString, "").trim();
    if (!dbUrl.isEmpty()) {
      try {
        PostgresUrls.toJdbc(dbUrl);
      } catch (IllegalArgumentException e) {
        problem("store.database.url", e.getMessage());
      }
    }
    return dbUrl;
  }

  /** {@code store.redis.tls-ca-file}: empty, or a readable file. */
  private String redisTlsCaFile() {
    Path file = trustFile("store.redis.tls-ca-file");
    return file == null ? "" : file.toString();
  }

  private String redisUrl() {
    String redisUrl = get("store.redis.url", config::getString, "").trim();
    if (RedisBackend.isClusterUrl(redisUrl)) {
      try {
        RedisBackend.clusterSeeds(redisUrl);
      } catch (IllegalArgumentException e) {
        problem("store.redis.url", StoreConfig.RedisConfig.redact(e.getMessage()));
      }
    } else if (!redisUrl.isEmpty()) {
      String badPort = badRedisPort(redisUrl);
      if (badPort != null) {
        problem(
            "store.redis.url",
            "the port of " + StoreConfig.RedisConfig.redact(redisUrl) + " is " + badPort);
        return redisUrl;
      }
      try {
        RedisURI uri = RedisURI.create(redisUrl);
        if (uri.getHost() == null && uri.getSocket() == null && uri.getSentinels().isEmpty()) {
          problem("store.redis.url", "no host in Redis URL");
        }
      } catch (RuntimeException e) {
        problem(
            "store.redis.url",
            "unparsable Redis URL: "
                + StoreConfig.RedisConfig.redact(oneLine(e.getMessage()))
                + (redisUrl.toLowerCase(Locale.ROOT).matches("rediss?-sentinel:.*")
                    ? " (the form is redis-sentinel://host:port[,host:port...]/#<master name>)"
                    : ""));
      }
    }
    return redisUrl;
  }

  /**
   * What is wrong with the port of a redis:// or rediss:// URL ({@code null}: nothing, or another
   * form); Lettuce took {@code host:notaport} for a host name and failed only at connect.
   */
  static String badRedisPort(String url) {
    String lower = url.toLowerCase(Locale.ROOT);
    int start;
    if (lower.startsWith("redis://")) {
      start = "redis://".length();
    } else if (lower.startsWith("rediss://")) {
      start = "rediss://".length();
    } else {
      return null;
    }
    int end = start;
    while (end < url.length() && "/?#".indexOf(url.charAt(end)) < 0) {
      end++;
    }
    int at = url.lastIndexOf('@', end - 1);
    String hostPort = url.substring(at >= start ? at + 1 : start, end);
    String port;
    if (hostPort.startsWith("[")) {
      int close = hostPort.indexOf(']');
      if (close < 0 || close + 1 == hostPort.length()) {
        return null;
      }
      port = hostPort.charAt(close + 1) == ':' ? hostPort.substring(close + 2) : "";
    } else {
      int colon = hostPort.indexOf(':');
      if (colon < 0) {
        return null;
      }
      port = hostPort.substring(colon + 1);
    }
    if (!port.matches("[0-9]{1,5}")
        || Integer.parseInt(port) < 1
        || Integer.parseInt(port) > 65535) {
      return "'" + port + "', not a number from 1 to 65535";
    }
    return null;
  }

  /**
   * Development mode (issue 12 item 6): what "auto" turns on for development signing, the
   * passwordless development sign-in and loopback outbound requests. Only a node that no identity
   * provider backs and that nobody can reach from another machine qualifies.
   */
  private static boolean developmentNode(
      StoreConfig store, boolean provider, boolean loopbackListen) {
    return store.embeddedDatabase() && store.localBus() && !provider && loopbackListen;
  }

  private IdentityConfig identity(StoreConfig store, boolean loopbackListen) {
    String jwksUrl = get("identity.jwks-url", config::getString, "");
    String jwksFile = get("identity.jwks-file", config::getString, "");
    boolean provider = !jwksUrl.isEmpty() || !jwksFile.isEmpty();
    boolean development = developmentNode(store, provider, loopbackListen);
    // An OpenID Connect provider is an identity provider too: where people sign in with it, "auto"
    // trusts no development-signed token (devices pair, with the node's own keys).
    boolean oidcProvider = !get("identity.oidc.issuer", config::getString, "").strip().isEmpty();
    String devSigning =
        get("identity.dev-signing", config::getString, "auto").toLowerCase(Locale.ROOT);
    boolean dev =
        switch (devSigning) {
          case "auto" -> development && !oidcProvider;
          case "true", "on", "yes" -> true;
          case "false", "off", "no" -> false;
          default -> {
            problem("identity.dev-signing", "must be auto, true or false");
            yield false;
          }
        };
    IdentityConfig identity =
        new IdentityConfig(
            dev,
            jwksUrl,
            jwksFile,
            get("identity.issuer", config::getString, ""),
            get("identity.audience", config::getString, "presence"),
            duration("identity.clock-skew"),
            duration("identity.dev-token-lifetime"),
            duration("identity.jwks-refresh-interval"),
            duration("identity.jwks-min-refresh-interval"),
            duration("identity.jwks-timeout"),
            positive("identity.cache-size"));
    if (!identity.jwksUrl().isEmpty()) {
      try {
        java.net.URI u = new java.net.URI(identity.jwksUrl());
        if (!"https".equals(u.getScheme()) && !"http".equals(u.getScheme())
            || u.getHost() == null) {
          problem("identity.jwks-url", "must be an http(s) URL");
        }
      } catch (java.net.URISyntaxException e) {
        problem("identity.jwks-url", "unparsable URL: " + e.getReason());
      }
    }
    if (!identity.jwksUrl().isEmpty() && !identity.jwksFile().isEmpty()) {
      problem("identity.jwks-file", "set identity.jwks-url or identity.jwks-file, not both");
    }
    if (!identity.jwksFile().isEmpty()) {
      jwksFile(identity.jwksFile());
    }
    if (!identity.devSigning()
        && identity.jwksUrl().isEmpty()
        && identity.jwksFile().isEmpty()
        && !oidcProvider) {
      problem(
          "identity.jwks-url",
          "no way to verify identity tokens: set identity.jwks-url or identity.jwks-file"
              + " (or identity.dev-signing=true on a development cluster; auto turns it on only"
              + " for the embedded store on a loopback gateway.host)");
    }
    return identity;
  }

  /**
   * {@code identity.jwks-file}: read once here, so that a file that holds no usable key stops the
   * node (every device would be refused while the node looked healthy). Later reloads of a broken
   * version keep the last good keys (the identity package's {@code JwksSource}).
   */
  private void jwksFile(String file) {
    Path p = Path.of(file);
    if (!Files.isReadable(p)) {
      problem("identity.jwks-file", "cannot read " + file);
      return;
    }
    try {
      // Parsed as the identity package's JwksSource reads it (which this package may not call:
      // identity depends on config).
      if (JWKSet.parse(Files.readString(p)).toPublicJWKSet().getKeys().isEmpty()) {
        problem("identity.jwks-file", file + " holds no public key");
      }
    } catch (IOException | ParseException | RuntimeException e) {
      problem(
          "identity.jwks-file",
          file + " is not a JSON Web Key Set (RFC 7517): " + oneLine(e.getMessage()));
    }
  }

  private LoggingConfig logging() {
    LoggingConfig.Format format = LoggingConfig.Format.TEXT;
    String f = get("logging.format", config::getString, "text");
    try {
      format = LoggingConfig.Format.valueOf(f.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      problem("logging.format", "must be text or json, not '" + f + "'");
    }
    String level = get("logging.level", config::getString, "INFO").toUpperCase(Locale.ROOT);
    if (!List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF").contains(level)) {
      problem("logging.level", "must be TRACE, DEBUG, INFO, WARN, ERROR or OFF");
    }
    return new LoggingConfig(format, level);
  }

  private OutboundConfig outbound(boolean development) {
    return new OutboundConfig(
        autoFlag("outbound.allow-loopback", development),
        autoFlag("outbound.allow-private", false),
        autoFlag("outbound.allow-link-local", false),
        positiveDuration("outbound.connect-timeout"),
        nonNegative("outbound.max-redirects"),
        dnsServers("outbound.dns-servers"),
        positiveDuration("outbound.dns-timeout"),
        trustFile("outbound.trust-file"));
  }

  private AppsConfig apps(OutboundConfig outbound) {
    return new AppsConfig(
        positiveDuration("apps.verify-timeout"),
        bytes("apps.verify-max-bytes"),
        positive("apps.max-per-developer"),
        // Plain HTTP proofs where loopback targets are allowed (development) unless set.
        autoFlag("apps.verify-over-http", outbound.allowLoopback()),
        positiveDouble("apps.verify-rate"),
        positive("apps.verify-burst"));
  }

  /**
   * {@code web.*} and its {@code identity.oidc.*}; {@code devSignInAuto} is what "auto" means for
   * {@code web.dev-sign-in} before the OIDC provider is taken into account.
   */
  private WebConfig web(GatewayConfig gateway, boolean loopbackListen, boolean devSignInAuto) {
    String secret = get("web.session-secret", config::getString, "");
    if (!secret.isEmpty() && secret.length() < 32) {
      problem(
          "web.session-secret", "must be at least 32 characters (or empty for a generated key)");
    }
    OidcConfig oidc = oidc();
    WebConfig web =
        new WebConfig(
            secret,
            positiveDuration("web.session-lifetime"),
            // A node whose people sign in with a provider offers no passwordless sign-in.
            autoFlag("web.dev-sign-in", devSignInAuto && !oidc.enabled()),
            oidc,
            positive("web.max-sessions-per-user"));
    if (web.devSignIn()
        && !loopbackListen
        && !get("web.dev-sign-in-on-public-address", config::getBoolean, false)) {
      problem(
          "web.dev-sign-in",
          "the passwordless development sign-in is on but gateway.host ("
              + gateway.host()
              + ") is not a loopback address, so anyone who reaches the node could sign in as"
              + " anyone: listen on 127.0.0.1, set web.dev-sign-in=false, or force it with"
              + " --allow-dev-sign-in-on-public-address (web.dev-sign-in-on-public-address=true)");
    }
    return web;
  }

  private OidcConfig oidc() {
    OidcConfig oidc =
        new OidcConfig(
            get("identity.oidc.issuer", config::getString, "").strip(),
            get("identity.oidc.client-id", config::getString, ""),
            get("identity.oidc.client-secret", config::getString, ""),
            List.of(
                get("identity.oidc.scopes", config::getString, "openid email")
                    .strip()
                    .split("[\\s,]+")),
            positiveDuration("identity.oidc.timeout"),
            positiveDuration("identity.oidc.login-lifetime"),
            nonNegativeDouble("identity.oidc.start-rate"),
            positive("identity.oidc.start-burst"));
    if (oidc.enabled()) {
      try {
        java.net.URI u = new java.net.URI(oidc.issuer());
        if (!"https".equals(u.getScheme()) && !"http".equals(u.getScheme())
            || u.getHost() == null
            || u.getQuery() != null
            || u.getFragment() != null) {
          problem("identity.oidc.issuer", "must be an http(s) URL without query or fragment");
        }
      } catch (java.net.URISyntaxException e) {
        problem("identity.oidc.issuer", "unparsable URL: " + e.getReason());
      }
      if (oidc.clientId().isEmpty()) {
        problem("identity.oidc.client-id", "required with identity.oidc.issuer");
      }
      if (!oidc.scopes().contains("openid")) {
        problem("identity.oidc.scopes", "must include openid");
      }
    }
    return oidc;
  }

  private DeviceConfig device() {
    return new DeviceConfig(
        positiveDuration("device.connect-timeout"),
        duration("device.offline-grace"),
        positiveDuration("device.ping-interval"),
        positiveDuration("device.ping-timeout"),
        positiveDouble("device.rate"),
        positive("device.burst"),
        nonNegative("device.overdraft"),
        nonNegativeDouble("device.handshake-rate"),
        positive("device.handshake-burst"),
        nonNegative("device.max-application-ids"),
        maxMessageLength(),
        positive("device.max-devices-per-user"),
        duration("device.identity-grace"));
  }

  private PushConfig push() {
    String pushSecret = get("push.secret", config::getString, "");
    if (!pushSecret.isEmpty() && pushSecret.length() < 16) {
      problem("push.secret", "must be empty (endpoint off) or at least 16 characters");
    }
    return new PushConfig(pushSecret);
  }

  private UpdatesConfig updates(boolean embedded) {
    UpdatesConfig updates =
        new UpdatesConfig(
            positiveDuration("updates.key-timeout"),
            positive("updates.max-connections-per-app"),
            positiveDouble("updates.connect-rate"),
            positive("updates.connect-burst"),
            atMost(positive("updates.buffer-size"), "updates.buffer-size", 100_000),
            positiveDuration("updates.buffer-age"),
            positive("updates.max-batch"),
            positive("updates.snapshot-page"),
            positiveDuration("updates.reorder-wait"),
            positiveDuration("updates.poll-interval"),
            positiveDuration("updates.ping-interval"),
            positive("updates.receipts-buffer"),
            socketBuffer("updates.socket-send-buffer"),
            autoFlag("updates.demo", embedded),
            positiveDouble("updates.frame-rate"),
            positive("updates.frame-burst"),
            nonNegative("updates.frame-overdraft"));
    if (updates.maxBatch() > 10_000) {
      problem("updates.max-batch", "must be at most 10000");
    }
    if (updates.snapshotPage() > 10_000) {
      problem("updates.snapshot-page", "must be at most 10000");
    }
    return updates;
  }

  private WebhooksConfig webhooks() {
    WebhooksConfig webhooks =
        new WebhooksConfig(
            positiveDuration("webhooks.interval"),
            positiveDuration("webhooks.timeout"),
            bytes("webhooks.max-response-bytes"),
            positive("webhooks.max-batch"),
            positiveDuration("webhooks.max-backoff"),
            positive("webhooks.max-in-flight"),
            positiveDuration("webhooks.lease-ttl"),
            positiveDuration("webhooks.idle"),
            positive("webhooks.max-in-flight-per-developer"),
            positiveDuration("webhooks.slow-call"),
            positiveDouble("webhooks.test-rate"),
            positive("webhooks.test-burst"),
            bytes("webhooks.max-body-bytes"));
    if (webhooks.maxBodyBytes() < 1024) {
      problem("webhooks.max-body-bytes", "must be at least 1k");
    }
    if (webhooks.maxInFlightPerDeveloper() > webhooks.maxInFlight()) {
      problem("webhooks.max-in-flight-per-developer", "must not be above webhooks.max-in-flight");
    }
    if (webhooks.leaseTtl().compareTo(webhooks.timeout().multipliedBy(2)) < 0) {
      problem("webhooks.lease-ttl", "must be at least twice webhooks.timeout");
    }
    if (webhooks.maxBackoff().compareTo(webhooks.interval()) < 0) {
      problem("webhooks.max-backoff", "must not be shorter than webhooks.interval");
    }
    return webhooks;
  }

  private ClusterConfig cluster() {
    ClusterConfig cluster =
        new ClusterConfig(
            positiveDuration("cluster.lease"),
            positiveDuration("cluster.heartbeat-interval"),
            positiveDuration("cluster.sweep-interval"),
            positive("cluster.sweep-batch"));
    if (cluster.sweepBatch() > MAX_SWEEP_BATCH) {
      problem("cluster.sweep-batch", "must be at most " + MAX_SWEEP_BATCH);
    }
    if (cluster.heartbeatInterval().multipliedBy(3).compareTo(cluster.lease()) > 0) {
      problem("cluster.heartbeat-interval", "must be at most a third of cluster.lease");
    }
    return cluster;
  }

  private AdminConfig admin(GatewayConfig gateway) {
    AdminConfig admin =
        new AdminConfig(
            get("admin.enabled", config::getBoolean, true),
            get("admin.host", config::getString, "127.0.0.1"),
            port("admin.port"),
            adminToken());
    checkHost("admin.host", admin.host());
    if (admin.enabled()
        && admin.port() != 0
        && admin.port() == gateway.port()
        && admin.host().equals(gateway.host())) {
      problem("admin.port", "must differ from gateway.port");
    }
    return admin;
  }

  private PairingConfig pairing() {
    return new PairingConfig(
        positiveDuration("pairing.token-lifetime"),
        positiveDuration("pairing.code-lifetime"),
        positiveDuration("pairing.poll-interval"),
        positiveDuration("pairing.key-rotation"),
        positiveDuration("pairing.key-reload"),
        positive("pairing.max-code-attempts"));
  }

  /** {@code otel.*}: trace export is on when the endpoint is an http(s) URL. */
  private OtelConfig otel() {
    OtelConfig otel =
        new OtelConfig(
            get("otel.endpoint", config::getString, "").strip(),
            get("otel.service-name", config::getString, "presence").strip(),
            positiveDuration("otel.export-interval"));
    if (otel.enabled()) {
      try {
        java.net.URI u = new java.net.URI(otel.endpoint());
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme()))
            || u.getHost() == null) {
          problem("otel.endpoint", "must be an http:// or https:// URL (the OTLP/HTTP base)");
        }
      } catch (java.net.URISyntaxException e) {
        problem("otel.endpoint", "not a URL: " + e.getMessage());
      }
    }
    if (otel.serviceName().isEmpty()) {
      problem("otel.service-name", "must not be empty");
    }
    return otel;
  }

  /**
   * {@code tls.*}: both files or neither; the files themselves are read (and refused with a line
   * naming the setting) when the node starts.
   */
  private TlsConfig tls() {
    TlsConfig tls =
        new TlsConfig(
            get("tls.cert", config::getString, "").strip(),
            get("tls.key", config::getString, "").strip(),
            positiveDuration("tls.reload-interval"),
            get("tls.admin", config::getBoolean, true),
            get("tls.hsts", config::getBoolean, true));
    if (tls.cert().isEmpty() != tls.key().isEmpty()) {
      problem(
          tls.cert().isEmpty() ? "tls.cert" : "tls.key",
          "set both tls.cert and tls.key, or neither");
    }
    return tls;
  }

  private QueriesConfig queries() {
    return new QueriesConfig(
        positiveDouble("queries.rate"),
        positive("queries.burst"),
        positiveDuration("queries.stats-ttl"));
  }

  /**
   * The admin API's token: {@code admin.token}, else the first line of {@code admin.token-file},
   * else {@code null} (the admin API is off). At least {@link AdminConfig#MIN_TOKEN_LENGTH}
   * printable ASCII characters; both set is a problem.
   */
  private String adminToken() {
    String token = get("admin.token", config::getString, "").strip();
    String file = get("admin.token-file", config::getString, "").strip();
    if (!token.isEmpty() && !file.isEmpty()) {
      problem("admin.token-file", "set admin.token or admin.token-file, not both");
      return null;
    }
    if (!file.isEmpty()) {
      try {
        List<String> lines = Files.readAllLines(Path.of(file));
        token = lines.isEmpty() ? "" : lines.get(0).strip();
      } catch (IOException | RuntimeException e) {
        problem("admin.token-file", "cannot read " + file + ": " + e.getMessage());
        return null;
      }
      if (token.isEmpty()) {
        problem("admin.token-file", file + " is empty");
        return null;
      }
    }
    if (token.isEmpty()) {
      return null;
    }
    String setting = file.isEmpty() ? "admin.token" : "admin.token-file";
    if (token.length() < AdminConfig.MIN_TOKEN_LENGTH || !token.matches("[\\x21-\\x7e]+")) {
      problem(
          setting,
          "must be at least "
              + AdminConfig.MIN_TOKEN_LENGTH
              + " printable ASCII characters without spaces");
      return null;
    }
    return token;
  }

  private XmppConfig xmpp(GatewayConfig gateway, boolean embedded) {
    String portText = get("xmpp.port", config::getString, "auto").strip();
    int port;
    if (portText.equalsIgnoreCase("auto")) {
      port = embedded ? (gateway.port() == 0 ? 0 : 5222) : -1;
    } else if (portText.equalsIgnoreCase("off")) {
      port = -1;
    } else {
      port = port("xmpp.port");
    }
    String tlsPortText = get("xmpp.tls-port", config::getString, "auto").strip();
    int tlsPort;
    if (tlsPortText.equalsIgnoreCase("auto")) {
      tlsPort = port < 0 || !embedded ? -1 : (gateway.port() == 0 ? 0 : 5223);
    } else if (tlsPortText.equalsIgnoreCase("off")) {
      tlsPort = -1;
    } else {
      tlsPort = port("xmpp.tls-port");
      if (port < 0) {
        problem("xmpp.tls-port", "needs xmpp.port (direct TLS is the same service)");
      }
    }
    String host = get("xmpp.host", config::getString, "");
    if (host.isEmpty()) {
      host = gateway.host();
    } else {
      checkHost("xmpp.host", host);
    }
    String domain = get("xmpp.domain", config::getString, "").toLowerCase(Locale.ROOT);
    if (domain.isEmpty()) {
      try {
        domain = InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT);
      } catch (UnknownHostException e) {
        domain = "localhost";
      }
    } else if (!domain.matches("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")) {
      problem("xmpp.domain", "must be a host name (letters, digits, '.', '-')");
    }
    XmppConfig x =
        new XmppConfig(
            port,
            host,
            domain,
            get("xmpp.tls-cert", config::getString, ""),
            get("xmpp.tls-key", config::getString, ""),
            bytes("xmpp.max-stanza-bytes"),
            positive("xmpp.max-depth"),
            positiveDuration("xmpp.auth-timeout"),
            positive("xmpp.max-auth-failures"),
            positiveDouble("xmpp.auth-failure-rate"),
            positive("xmpp.auth-failure-burst"),
            tlsPort,
            positiveDuration("xmpp.resume-window"));
    if (x.enabled() && x.tlsCert().isEmpty() != x.tlsKey().isEmpty()) {
      problem("xmpp.tls-key", "set both xmpp.tls-cert and xmpp.tls-key, or neither");
    } else if (x.enabled() && x.selfSigned() && !embedded) {
      problem("xmpp.tls-cert", "required outside the embedded default (STARTTLS is required)");
    }
    if (x.resumeWindow().compareTo(org.presence.store.updates.AppUpdateLog.RETENTION) > 0) {
      problem("xmpp.resume-window", "at most 1h (the hour the update log keeps)");
    }
    if (x.maxStanzaBytes() < 4096) {
      problem("xmpp.max-stanza-bytes", "must be at least 4k");
    }
    return x;
  }

  private GrantsConfig grants() {
    GrantsConfig g =
        new GrantsConfig(
            positive("grants.max-per-app"),
            positive("grants.max-per-user"),
            positiveDouble("grants.rate"),
            positive("grants.burst"));
    if (g.maxPerApp() > g.maxPerUser()) {
      problem("grants.max-per-app", "must not be above grants.max-per-user");
    }
    return g;
  }

  private NotificationsConfig notifications(LimitsConfig limits) {
    Duration ttl = positiveDuration("notifications.default-ttl");
    if (ttl.compareTo(NotificationsConfig.MIN_TTL) < 0
        || ttl.compareTo(NotificationsConfig.MAX_TTL) > 0
        || ttl.toMillis() % 1000 != 0) {
      problem("notifications.default-ttl", "must be whole seconds from 5s to 1h");
      ttl = Duration.ofSeconds(60);
    }
    List<String> schemes = new ArrayList<>();
    for (String raw : stringList("notifications.action-schemes")) {
      String scheme = raw.trim().toLowerCase(Locale.ROOT);
      if (!scheme.matches("[a-z][a-z0-9+.-]{0,31}")) {
        problem("notifications.action-schemes", "'" + raw + "' is not a URI scheme");
      } else if (NotificationsConfig.FORBIDDEN_SCHEMES.contains(scheme)) {
        problem(
            "notifications.action-schemes",
            scheme + " is never allowed (it runs or reads content)");
      } else if (!schemes.contains(scheme)) {
        schemes.add(scheme);
      }
    }
    if (schemes.isEmpty()) {
      problem("notifications.action-schemes", "name at least one scheme (http, https, app)");
    }
    int maxBody = bytes("notifications.max-body-bytes");
    return new NotificationsConfig(
        positive("notifications.max-batch"),
        maxBody,
        ttl,
        positiveDouble("notifications.rate"),
        positive("notifications.burst"),
        schemes,
        positive("notifications.max-tracked"),
        positive("notifications.frame-items"),
        cache("notifications.puid-cache"));
  }

  private <T> T get(String path, Function<String, T> getter, T fallback) {
    try {
      return getter.apply(path);
    } catch (ConfigException e) {
      problem(path, oneLine(e.getMessage()));
      return fallback;
    }
  }

  /**
   * A list setting: a HOCON list in a file, or (from the environment or a flag, which are strings)
   * comma-separated values, with or without brackets.
   */
  private List<String> stringList(String path) {
    try {
      if (config.getValue(path).valueType() == ConfigValueType.STRING) {
        String raw = config.getString(path).trim();
        if (raw.startsWith("[") && raw.endsWith("]")) {
          raw = raw.substring(1, raw.length() - 1);
        }
        List<String> out = new ArrayList<>();
        for (String part : raw.split(",")) {
          String v = part.trim();
          if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1);
          }
          if (!v.isEmpty()) {
            out.add(v);
          }
        }
        return out;
      }
      return config.getStringList(path);
    } catch (ConfigException e) {
      problem(path, oneLine(e.getMessage()));
      return List.of();
    }
  }

  /** Addresses and CIDR blocks, each checked; a bad one is a problem and is left out. */
  private List<String> addressBlocks(String path) {
    List<String> out = new ArrayList<>();
    for (String entry : stringList(path)) {
      try {
        TrustedProxies.parse(List.of(entry));
        out.add(entry.trim());
      } catch (IllegalArgumentException e) {
        problem(path, e.getMessage());
      }
    }
    return out;
  }

  private int port(String path) {
    int p = get(path, config::getInt, 0);
    if (p < 0 || p > 65535) {
      problem(path, "must be between 0 and 65535");
    }
    return p;
  }

  private int nonNegative(String path) {
    int v = get(path, config::getInt, 0);
    if (v < 0) {
      problem(path, "must not be negative");
    }
    return v;
  }

  /**
   * Longest custom message an operator may allow, in code points. A user's state is stored as JSON
   * and read with the protocol's {@code Json.MAX_STRING_LENGTH} (64 Ki chars) per string: a code
   * point is at most two chars, so this keeps every stored message readable with room to spare.
   */
  static final int MAX_MESSAGE_LENGTH = 16_384;

  private int maxMessageLength() {
    int v = nonNegative("device.max-message-length");
    if (v > MAX_MESSAGE_LENGTH) {
      problem(
          "device.max-message-length",
          "must be at most "
              + MAX_MESSAGE_LENGTH
              + " (a stored state is read with a 64 KiB limit per string)");
    }
    return v;
  }

  /** Most rows in one delete of the retention sweep. */
  private static final int MAX_RETENTION_BATCH = 10_000;

  /** Most users in one page of the presence sweep (one script call: Redis runs nothing else). */
  static final int MAX_SWEEP_BATCH = 10_000;

  private int positive(String path) {
    int v = get(path, config::getInt, 1);
    if (v < 1) {
      problem(path, "must be at least 1");
    }
    return v;
  }

  private int bytes(String path) {
    long v = get(path, config::getBytes, 1L);
    if (v < 1 || v > Integer.MAX_VALUE) {
      problem(path, "must be between 1 byte and 2 GiB");
      return 1;
    }
    return (int) v;
  }

  /** A socket buffer size: 0 (the kernel's) or 1 KiB to 64 MiB. */
  private int socketBuffer(String path) {
    long v = get(path, config::getBytes, 0L);
    if (v != 0 && (v < 1024 || v > 64L * 1024 * 1024)) {
      problem(path, "must be 0 (the kernel's sizing) or between 1k and 64m");
      return 0;
    }
    return (int) v;
  }

  private double positiveDouble(String path) {
    double v = get(path, config::getDouble, 1.0);
    if (!(v > 0) || Double.isInfinite(v)) {
      problem(path, "must be a number above zero");
      return 1.0;
    }
    return v;
  }

  private double nonNegativeDouble(String path) {
    double v = get(path, config::getDouble, 0.0);
    if (!(v >= 0) || Double.isInfinite(v)) {
      problem(path, "must be a number, zero or more");
      return 0.0;
    }
    return v;
  }

  /** {@code v}, or a problem when it is above {@code max} (then {@code max}). */
  private int atMost(int v, String path, int max) {
    if (v > max) {
      problem(path, "must be at most " + max);
      return max;
    }
    return v;
  }

  /**
   * Most event-loop threads: each holds buffers of its own (the probe's 100000 ended in an
   * OutOfMemoryError); Netty's default is twice the cores.
   */
  static final int MAX_IO_THREADS = 1024;

  private Duration duration(String path) {
    if (unitless(path)) {
      problem(path, "needs a unit: 10s, 500ms, 5m, 1h or 1d (a bare number would be milliseconds)");
      return Duration.ofSeconds(1);
    }
    Duration d = get(path, config::getDuration, Duration.ofSeconds(1));
    if (d.isNegative()) {
      problem(path, "must not be negative");
      return Duration.ZERO;
    }
    return d;
  }

  /** Whether a duration is a bare number other than 0 (HOCON would read it as milliseconds). */
  private boolean unitless(String path) {
    try {
      ConfigValue v = config.getValue(path);
      String text = String.valueOf(v.unwrapped()).strip();
      return (v.valueType() == ConfigValueType.NUMBER || v.valueType() == ConfigValueType.STRING)
          && text.matches("[+-]?[0-9]*\\.?[0-9]+([eE][+-]?[0-9]+)?")
          && !text.matches("[+-]?0*\\.?0*");
    } catch (ConfigException e) {
      return false; // reported by the read
    }
  }

  private Duration positiveDuration(String path) {
    Duration d = duration(path);
    if (d.isZero()) {
      problem(path, "must be longer than zero");
      return Duration.ofSeconds(1);
    }
    return d;
  }

  /** A flag that is {@code auto} (then {@code whenAuto}), true or false. */
  private boolean autoFlag(String path, boolean whenAuto) {
    String v = get(path, config::getString, "auto").toLowerCase(Locale.ROOT);
    return switch (v) {
      case "auto" -> whenAuto;
      case "true", "on", "yes" -> true;
      case "false", "off", "no" -> false;
      default -> {
        problem(path, "must be auto, true or false");
        yield whenAuto;
      }
    };
  }

  /** Name servers: IP addresses, with an optional port ({@code 10.0.0.53}, {@code [::1]:5353}). */
  private List<java.net.InetSocketAddress> dnsServers(String path) {
    List<java.net.InetSocketAddress> out = new ArrayList<>();
    for (String entry : stringList(path)) {
      String e = entry.strip();
      String host = e;
      int port = 53;
      int colon = e.lastIndexOf(':');
      if (e.startsWith("[")) {
        int close = e.indexOf(']');
        host = close > 0 ? e.substring(1, close) : e;
        if (close > 0 && close + 1 < e.length() && e.charAt(close + 1) == ':') {
          port = parsePort(path, entry, e.substring(close + 2));
        }
      } else if (colon > 0 && e.indexOf(':') == colon) {
        host = e.substring(0, colon);
        port = parsePort(path, entry, e.substring(colon + 1));
      }
      if (!io.netty.util.NetUtil.isValidIpV4Address(host)
          && !io.netty.util.NetUtil.isValidIpV6Address(host)) {
        problem(path, "'" + entry + "' is not an IP address (with an optional :port)");
        continue;
      }
      out.add(
          new java.net.InetSocketAddress(
              io.netty.util.NetUtil.createInetAddressFromIpAddressString(host), port));
    }
    return out;
  }

  private int parsePort(String path, String entry, String port) {
    try {
      int p = Integer.parseInt(port);
      if (p >= 1 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    problem(path, "'" + entry + "' has a bad port");
    return 53;
  }

  /** A readable file, or null when the setting is empty. */
  private Path trustFile(String path) {
    String v = get(path, config::getString, "").strip();
    if (v.isEmpty()) {
      return null;
    }
    Path p = Path.of(v);
    if (!Files.isReadable(p)) {
      problem(path, "cannot read " + p.toAbsolutePath());
      return p;
    }
    // Read once here, so that a file without certificates is refused naming its setting, not
    // as a failure of the connection (or the URL) that would have used it.
    try (InputStream in = Files.newInputStream(p)) {
      if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
        problem(path, p + " holds no PEM certificate");
      }
    } catch (IOException | CertificateException e) {
      problem(path, p + " holds no PEM certificate: " + oneLine(e.getMessage()));
    }
    return p;
  }

  private CachesConfig.Spec cache(String path) {
    return new CachesConfig.Spec(positive(path + ".max-size"), positiveDuration(path + ".ttl"));
  }

  /**
   * Whether every address {@code host} names is a loopback address (so that only this machine can
   * reach a port bound to it). An unknown host is not (and {@link #checkHost} reports it).
   */
  static boolean loopbackOnly(String host) {
    try {
      InetAddress[] all = InetAddress.getAllByName(host);
      if (all.length == 0) {
        return false;
      }
      for (InetAddress a : all) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return true;
    } catch (UnknownHostException | SecurityException e) {
      return false;
    }
  }

  private void checkHost(String path, String host) {
    try {
      InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      problem(path, "unknown host " + host);
    }
  }

  private void problem(String path, String message) {
    problems.add(path + ": " + message);
  }

  private static String oneLine(String s) {
    return s == null ? "invalid" : s.replace('\n', ' ');
  }

  private static String defaultNodeId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "node";
    }
    host = host.replaceAll("[^A-Za-z0-9.-]", "-");
    if (host.length() > 40) {
      host = host.substring(0, 40);
    }
    return host + "-" + UUID.randomUUID().toString().substring(0, 8);
  }
}
