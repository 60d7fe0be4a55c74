package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.loadtest.scenario.Dsl.atOnce;
import static org.presence.loadtest.scenario.Dsl.rampUsers;
import static org.presence.loadtest.scenario.Dsl.scenario;
import static org.presence.loadtest.scenario.Dsl.simulation;

import com.sun.net.httpserver.HttpServer;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.floor.FloorServer;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.presence.PresenceSetup;
import org.presence.loadtest.scenario.Check;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.HttpPoster;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;
import org.presence.loadtest.transport.WsConnector;

/**
 * How the engine counts users and connections, against real sockets: every started user ends
 * counted once (done, by its error, or {@code unfinished} when cut off at the stop), what it opened
 * is closed before the run returns, {@code closed} matches {@code opened}, and {@code sent} counts
 * requests that reached the server.
 */
class RunnerStopTest {
  @TempDir Path dir;

  private EventLoopGroup loops;
  private WsConnector connector;

  @BeforeEach
  void start() {
    loops = Transport.best().group(1, "runner-test");
    connector =
        new WsConnector(Transport.best(), SourceAddresses.parse(""), Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() {
    Transport.shutDown(loops, Duration.ofSeconds(1)).awaitUninterruptibly();
  }

  private Metrics run(Simulation sim, Target target, Duration grace) throws Exception {
    Metrics m = new Metrics();
    new Runner(sim, target, m, loops, Tokens.none(), 0, 1)
        .grace(grace)
        .run(org.presence.loadtest.metrics.Clock.millis());
    return m;
  }

  /**
   * A server that accepts TCP connections and never answers the upgrade: the harness's connects are
   * still under way at the stop. Each accepted socket's end (the harness closing it) is seen.
   */
  private static final class Silent implements AutoCloseable {
    final ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    final List<Socket> accepted = new CopyOnWriteArrayList<>();
    final CountDownLatch ends;

    Silent(int expected) throws Exception {
      ends = new CountDownLatch(expected);
      Thread t =
          new Thread(
              () -> {
                try {
                  while (true) {
                    Socket s = server.accept();
                    accepted.add(s);
                    Thread r =
                        new Thread(
                            () -> {
                              try (InputStream in = s.getInputStream()) {
                                while (in.read() >= 0) {
                                  // the upgrade request: never answered
                                }
                              } catch (Exception closed) {
                                // reset counts as an end too
                              }
                              ends.countDown();
                            });
                    r.setDaemon(true);
                    r.start();
                  }
                } catch (Exception stopped) {
                  // closed
                }
              });
      t.setDaemon(true);
      t.start();
    }

    URI url() {
      return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    @Override
    public void close() throws Exception {
      server.close();
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  @Test
  void usersCutOffAtTheStop_areCountedUnfinished_andTheirSocketsClosedBeforeTheRunReturns()
      throws Exception {
    try (Silent silent = new Silent(3)) {
      Simulation sim =
          simulation("cut")
              .population(
                  scenario("devices").connect().holdUntilEnd().disconnect().inject(atOnce(3)))
              .maxDuration(Duration.ofMillis(300))
              .build();
      Metrics m = run(sim, Targets.floor(silent.url(), connector, false), Duration.ofSeconds(2));

      assertThat(m.total(Metrics.USERS_STARTED)).isEqualTo(3);
      assertThat(m.total(Metrics.USERS_DONE)).isZero();
      assertThat(m.totalErrors()).isEqualTo(3);
      assertThat(m.sample(0, 0, 1).errors()).containsEntry(Runner.UNFINISHED, 3L);
      assertThat(m.active()).isZero();
      assertThat(silent.accepted).hasSize(3);
      // The harness closed them itself, not the test's teardown and not the 30 s timeout.
      assertThat(silent.ends.await(1, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void everySessionOpenedIsCountedClosed_beforeItsUserEnds() throws Exception {
    FloorServer floor = FloorServer.start("127.0.0.1", 0, 1, Transport.best());
    try {
      URI url = URI.create("http://127.0.0.1:" + floor.port());
      // The check runs right after the user's own disconnect completed: its close must be counted.
      Simulation sim =
          simulation("storm")
              .population(
                  scenario("devices")
                      .connect()
                      .disconnect()
                      .check(
                          new Check("closed counted", u -> u.metrics().total(Metrics.CLOSED) >= 1))
                      .inject(atOnce(1)))
              .maxDuration(Duration.ofSeconds(5))
              .build();
      Metrics m = run(sim, Targets.floor(url, connector, false), Duration.ofSeconds(2));
      assertThat(m.totalErrors()).isZero();
      assertThat(m.total(Metrics.USERS_DONE)).isEqualTo(1);
      assertThat(m.total(Metrics.OPENED)).isEqualTo(1);
      assertThat(m.total(Metrics.CLOSED)).isEqualTo(1);

      // Devices holding until the stop: every one closed, and counted closed, by the time the run
      // returns.
      Simulation hold =
          simulation("hold")
              .population(
                  scenario("devices").connect().holdUntilEnd().disconnect().inject(atOnce(20)))
              .maxDuration(Duration.ofMillis(500))
              .build();
      Metrics h = run(hold, Targets.floor(url, connector, false), Duration.ofSeconds(2));
      assertThat(h.total(Metrics.OPENED)).isEqualTo(20);
      assertThat(h.total(Metrics.CLOSED)).isEqualTo(20);
      assertThat(h.total(Metrics.USERS_DONE)).isEqualTo(20);
      assertThat(h.active()).isZero();
    } finally {
      floor.close();
    }
  }

  @Test
  void usersTheHarnessNeverStarted_beforeTheStop_areCountedNotStarted() throws Exception {
    // Far more users than one thread starts in 20 ms: the stop finds the schedule behind.
    long users = 300_000;
    Simulation sim =
        simulation("behind")
            .population(
                scenario("idle")
                    .pause(Duration.ZERO)
                    .inject(rampUsers(users).during(Duration.ofMillis(20))))
            .maxDuration(Duration.ofMillis(20))
            .build();
    Metrics m =
        run(
            sim,
            Targets.floor(URI.create("http://127.0.0.1:9"), connector, false),
            Duration.ofSeconds(2));
    long notStarted = m.sample(0, 0, 1).errors().getOrDefault(Runner.NOT_STARTED, 0L);
    assertThat(m.total(Metrics.USERS_STARTED) + notStarted).isEqualTo(users);
  }

  @Test
  void aConnectionIsCountedClosedOnlyIfItWasCountedOpen() throws Exception {
    Simulation sim =
        simulation("one")
            .population(scenario("d").pause(Duration.ZERO).inject(atOnce(1)))
            .maxDuration(Duration.ofSeconds(1))
            .build();
    Metrics m = new Metrics();
    Runner runner = new Runner(sim, null, m, loops, Tokens.none(), 0, 1);
    org.presence.loadtest.scenario.VirtualUser u =
        new org.presence.loadtest.scenario.VirtualUser(0, loops.next(), runner);
    // A session the server refused: its socket closes, but it was never a session opened.
    org.presence.loadtest.scenario.VirtualUser.Connection refused = u.inbound(Metrics.NOTIFY);
    refused.closed(true, "");
    assertThat(m.total(Metrics.CLOSED)).isZero();
    assertThat(m.active()).isZero();
    assertThat(m.totalErrors()).isZero();
    // An accepted one: counted open, then closed, once.
    org.presence.loadtest.scenario.VirtualUser.Connection accepted = u.inbound(Metrics.NOTIFY);
    accepted.opened();
    assertThat(m.active()).isEqualTo(1);
    accepted.closed(false, "");
    accepted.closed(false, "");
    assertThat(m.total(Metrics.OPENED)).isEqualTo(1);
    assertThat(m.total(Metrics.CLOSED)).isEqualTo(1);
    assertThat(m.active()).isZero();
  }

  /**
   * A node that holds every stream ({@code GET /<id>/presence.json}) open until the client goes.
   */
  private static HttpServer streamingNode(CountDownLatch served) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          ex.getResponseHeaders().set("Content-Type", "application/x-ndjson");
          ex.sendResponseHeaders(200, 0);
          OutputStream o = ex.getResponseBody();
          served.countDown();
          try {
            for (int i = 0; i < 100; i++) {
              o.write('\n');
              o.flush();
              Thread.sleep(50);
            }
          } catch (Exception gone) {
            // the client closed the stream
          } finally {
            ex.close();
          }
        });
    server.start();
    return server;
  }

  @Test
  void aStreamApp_isCountedClosedWhenItDisconnects() throws Exception {
    Files.writeString(
        dir.resolve(PresenceSetup.FILE), "{\"apps\":[{\"id\":7,\"key\":\"k7\"}],\"puids\":[]}");
    CountDownLatch served = new CountDownLatch(1);
    HttpServer server = streamingNode(served);
    try {
      URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
      Target t =
          Targets.presence(
              base,
              base,
              true,
              connector,
              new HttpPoster(Transport.best(), SourceAddresses.parse(""), Duration.ofSeconds(5)),
              OptionalLong.empty(),
              dir,
              base);
      Simulation sim =
          simulation("apps")
              .population(scenario("apps").subscribe().disconnect().asApps().inject(atOnce(1)))
              .maxDuration(Duration.ofSeconds(5))
              .build();
      Metrics m = run(sim, t, Duration.ofSeconds(2));
      assertThat(m.totalErrors()).isZero();
      assertThat(m.total(Metrics.OPENED)).isEqualTo(1);
      assertThat(m.total(Metrics.CLOSED)).isEqualTo(1);
      assertThat(m.active()).isZero();
    } finally {
      server.stop(0);
    }
  }

  /** A node stand-in that answers every notification POST with an errno. */
  private static HttpServer node() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.createContext(
        "/",
        ex -> {
          ex.getRequestBody().readAllBytes();
          byte[] body = "{\"errno\":999,\"reason\":\"test node\"}".getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(400, body.length);
          try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
          }
        });
    server.start();
    return server;
  }

  private Target presence(URI base) {
    return Targets.presence(
        base,
        base,
        false,
        connector,
        new HttpPoster(Transport.best(), SourceAddresses.parse(""), Duration.ofSeconds(5)),
        OptionalLong.empty(),
        dir,
        base);
  }

  @Test
  void sent_countsOnePerPostThatReachedTheServer_notItsItems_norFailedPosts() throws Exception {
    Files.writeString(
        dir.resolve(PresenceSetup.FILE),
        "{\"apps\":[{\"id\":7,\"key\":\"k7\"}],\"puids\":[\"p0\",\"p1\",\"p2\"]}");
    Simulation sim =
        simulation("post")
            .population(
                scenario("posters")
                    .post(u -> List.of(0L, 1L, 2L))
                    .post(u -> List.of(0L, 1L, 2L))
                    .asApps()
                    .inject(atOnce(1)))
            .maxDuration(Duration.ofSeconds(10))
            .build();
    HttpServer server = node();
    try {
      URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
      Metrics m = run(sim, presence(base), Duration.ofSeconds(2));
      assertThat(m.total(Metrics.SENT)).isEqualTo(2); // two POSTs of three items each
      assertThat(m.sample(0, 0, 1).errors()).containsEntry("errno 999", 2L);
    } finally {
      server.stop(0);
    }
    // Nothing listens: the post never reaches a server, so it is an error and not sent.
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Metrics m = run(sim, presence(URI.create("http://127.0.0.1:" + closed)), Duration.ofSeconds(2));
    assertThat(m.total(Metrics.SENT)).isZero();
    assertThat(m.sample(0, 0, 1).errors()).containsEntry("connect-refused", 1L);
  }
}
