package org.presence.loadtest.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.presence.loadtest.scenario.Dsl;
import org.presence.loadtest.scenario.ScenarioParams;
import org.presence.loadtest.transport.Transport;

/**
 * Everything one run needs, from the command line: scenario and its knobs, target, identity,
 * processes, output. The coordinator writes it as {@code plan.json} in the output folder and every
 * injector process reads it from there, so all processes run the same plan. Durations are kept as
 * text ({@code 10s}); null means the default.
 *
 * @param scenario the built-in scenario's name
 * @param target {@code floor} or {@code presence}
 * @param url the target's base URL; null for a floor this run starts itself
 * @param appsUrl where the application side goes (the setup's JSON API calls, the app update
 *     channel, notification posts) when it should be a node of the cluster other than {@code
 *     url}'s; null: {@code url}
 * @param appTransport how apps subscribe to Presence: {@code ws} (the update channel, the default,
 *     also for null) or {@code stream} ({@code GET /<appid>/presence.json})
 * @param users device users
 * @param apps app connections
 * @param ramp time over which users start
 * @param rate arrival rate, users a second
 * @param duration how long the load lasts
 * @param interval time between one user's sends
 * @param hold idle hold time
 * @param batch notifications per POST
 * @param processes injector processes (1: this process injects)
 * @param sliceIndex this run's slice when it is one of several machines' runs (0-based)
 * @param sliceCount number of slices across machines (1: none)
 * @param sourceAddresses local addresses to bind, e.g. {@code 127.0.0.1-127.0.0.8}; empty: kernel
 * @param eventLoops client event-loop threads per process (0: Netty's default)
 * @param signingKey JWK file for identity assertions
 * @param issuer assertion {@code iss}
 * @param audience assertion {@code aud}
 * @param subjectPrefix assertion {@code sub} prefix before the email
 * @param serverPid the server's pid when it runs on this machine (for GC and RSS)
 * @param out output folder
 * @param consoleEvery seconds between console lines
 * @param assertions assertion expressions
 * @param injectorJvmOptions JVM options of injector processes
 * @param floorJvmOptions JVM options of a floor this run starts
 * @param timeout connect and handshake timeout
 * @param metricsUrl where a Presence node's {@code /metrics} is read (its admin port); null: {@code
 *     url}'s host on the default admin port, 8081
 * @param transport the Netty transport of the harness's sockets in every injector ({@link
 *     Transport#named}); null: {@code auto}
 * @param floorTransport the Netty transport of a floor this run starts; null: {@code auto}
 */
public record LoadConfig(
    String scenario,
    String target,
    String url,
    String appsUrl,
    String appTransport,
    Long users,
    Integer apps,
    String ramp,
    Double rate,
    String duration,
    String interval,
    String hold,
    Integer batch,
    int processes,
    int sliceIndex,
    int sliceCount,
    String sourceAddresses,
    int eventLoops,
    String signingKey,
    String issuer,
    String audience,
    String subjectPrefix,
    Long serverPid,
    String out,
    int consoleEvery,
    List<String> assertions,
    List<String> injectorJvmOptions,
    List<String> floorJvmOptions,
    String timeout,
    String metricsUrl,
    String transport,
    String floorTransport) {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** Null lists become empty. */
  public LoadConfig {
    assertions = assertions == null ? List.of() : List.copyOf(assertions);
    injectorJvmOptions = injectorJvmOptions == null ? List.of() : List.copyOf(injectorJvmOptions);
    floorJvmOptions = floorJvmOptions == null ? List.of() : List.copyOf(floorJvmOptions);
  }

  /** The scenario knobs. */
  public ScenarioParams params() {
    return new ScenarioParams(
        users, apps, dur(ramp), rate, dur(duration), dur(interval), dur(hold), batch);
  }

  /** The connect and handshake timeout (10 s by default). */
  public Duration timeoutDuration() {
    Duration d = dur(timeout);
    return d == null ? Duration.ofSeconds(10) : d;
  }

  /** Whether apps subscribe over Presence's stream instead of its update channel. */
  public boolean appsOverStream() {
    return "stream".equals(appTransport);
  }

  /** Where the application side goes: {@code appsUrl}, or {@code url} when none was given. */
  public String appsUrlOrUrl() {
    return appsUrl == null ? url : appsUrl;
  }

  /** The schemes a target's URL may have. */
  private static final java.util.Set<String> SCHEMES =
      java.util.Set.of("http", "https", "ws", "wss");

  /**
   * Checks {@code --url} and {@code --apps-url}: each, when given, an absolute URL with a scheme of
   * http, https, ws or wss and a host; otherwise an {@link IllegalArgumentException} saying what is
   * wrong (a usage error, before anything runs).
   */
  public void checkUrls() {
    checkUrl("--url", url);
    checkUrl("--apps-url", appsUrl);
  }

  private static void checkUrl(String option, String value) {
    if (value == null) {
      return;
    }
    java.net.URI u = null;
    try {
      u = new java.net.URI(value);
    } catch (java.net.URISyntaxException e) {
      // said below
    }
    String scheme =
        u == null || u.getScheme() == null
            ? null
            : u.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (scheme == null || !SCHEMES.contains(scheme) || u.getHost() == null) {
      throw new IllegalArgumentException(
          option
              + " "
              + value
              + " is not a server's address: give http://HOST:PORT (or https, ws, wss)");
    }
  }

  /** The default admin port of a Presence node, where its {@code /metrics} is served. */
  public static final int DEFAULT_ADMIN_PORT = 8081;

  /**
   * Where the node's metrics are read: {@code metricsUrl}, or {@code http://<url's host>:8081} (the
   * node's admin port is loopback-only by default, so this suits a node on this machine).
   */
  public String metricsUrlOrDefault() {
    if (metricsUrl != null) {
      return metricsUrl;
    }
    java.net.URI u = java.net.URI.create(url);
    String host = u.getHost() == null ? "127.0.0.1" : u.getHost();
    return "http://"
        + (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host)
        + ":"
        + DEFAULT_ADMIN_PORT;
  }

  /** This plan with {@code url} set. */
  public LoadConfig withUrl(String newUrl) {
    return new LoadConfig(
        scenario,
        target,
        newUrl,
        appsUrl,
        appTransport,
        users,
        apps,
        ramp,
        rate,
        duration,
        interval,
        hold,
        batch,
        processes,
        sliceIndex,
        sliceCount,
        sourceAddresses,
        eventLoops,
        signingKey,
        issuer,
        audience,
        subjectPrefix,
        serverPid,
        out,
        consoleEvery,
        assertions,
        injectorJvmOptions,
        floorJvmOptions,
        timeout,
        metricsUrl,
        transport,
        floorTransport);
  }

  /**
   * The harness's transport.
   *
   * @throws IllegalArgumentException for an unknown name or one that does not work here
   */
  public Transport harnessTransport() {
    return Transport.named(transport);
  }

  private static Duration dur(String text) {
    return text == null ? null : Dsl.parseDuration(text);
  }

  /** Writes the plan as JSON. */
  public void write(Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    MAPPER.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), this);
  }

  /** Reads a plan written by {@link #write}. */
  public static LoadConfig read(Path file) throws IOException {
    return MAPPER.readValue(file.toFile(), LoadConfig.class);
  }
}
