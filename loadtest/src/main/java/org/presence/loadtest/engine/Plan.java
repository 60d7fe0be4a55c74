package org.presence.loadtest.engine;

import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.OptionalLong;
import java.util.Set;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.scenario.Action;
import org.presence.loadtest.scenario.Scenarios;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.HttpPoster;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.WsConnector;

/**
 * Turns a {@link LoadConfig} into the parts of a run: the simulation, the target, the token minter.
 * Shared by the coordinator and the injector processes so they agree.
 */
public final class Plan {
  private Plan() {}

  /** The simulation the config names; IllegalArgumentException for an unknown scenario. */
  public static Simulation simulation(LoadConfig c) {
    return Scenarios.build(c.scenario(), c.params())
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown scenario '"
                        + c.scenario()
                        + "'; known: "
                        + Scenarios.list().keySet()));
  }

  /** The target, its sockets living on {@code loops} and bound to {@code sources}. */
  public static Target target(LoadConfig c, SourceAddresses sources) {
    URI base = URI.create(c.url());
    WsConnector connector = new WsConnector(c.harnessTransport(), sources, c.timeoutDuration());
    return switch (c.target()) {
      case "floor" -> Targets.floor(base, connector, false);
      case "floor-acked" -> Targets.floor(base, connector, true);
      case "presence" ->
          Targets.presence(
              base,
              URI.create(c.appsUrlOrUrl()),
              c.appsOverStream(),
              connector,
              new HttpPoster(c.harnessTransport(), sources, c.timeoutDuration()),
              c.serverPid() == null ? OptionalLong.empty() : OptionalLong.of(c.serverPid()),
              Path.of(c.out()),
              URI.create(c.metricsUrlOrDefault()));
      default ->
          throw new IllegalArgumentException(
              "unknown target '" + c.target() + "' (floor, floor-acked or presence)");
    };
  }

  /** What the simulation needs and the target lacks; empty when it can run. */
  public static Set<Action.Channel> missing(Simulation sim, Target t) {
    Set<Action.Channel> out = EnumSet.noneOf(Action.Channel.class);
    for (Action.Channel ch : sim.requires()) {
      boolean offered =
          switch (ch) {
            case DEVICES -> t.devices().isPresent();
            case APPS -> t.apps().isPresent();
            case NOTIFICATIONS -> t.notifications().isPresent();
          };
      if (!offered) {
        out.add(ch);
      }
    }
    return out;
  }

  /** The number of apps in the run: the largest app population (0 when none). */
  public static int apps(Simulation sim) {
    return (int)
        sim.populations().stream()
            .filter(p -> p.role() == org.presence.loadtest.scenario.Population.Role.APPS)
            .mapToLong(p -> p.profile().users())
            .max()
            .orElse(0);
  }

  /**
   * The minter for the target, or null when none is needed; IllegalArgumentException when the key
   * is missing.
   */
  public static TokenMinter minter(LoadConfig c, Simulation sim, Target t) {
    boolean needs =
        sim.requires().contains(Action.Channel.DEVICES) || (apps(sim) > 0 && t.apps().isPresent());
    if (!t.needsAssertions() || !needs) {
      return null;
    }
    if (c.signingKey() == null || !Files.isReadable(Path.of(c.signingKey()))) {
      throw new IllegalArgumentException(
          "target "
              + t.name()
              + " needs identity assertions: give --signing-key FILE (a private JWK,"
              + " such as the node's presence-data/dev-identity.jwk)");
    }
    return new TokenMinter(
        TokenMinter.load(Path.of(c.signingKey())),
        c.issuer(),
        c.audience(),
        c.subjectPrefix(),
        java.time.Duration.ofHours(2)
            .plus(c.params().duration() == null ? java.time.Duration.ZERO : c.params().duration()));
  }

  /** The client event loops of one process. */
  public static EventLoopGroup loops(LoadConfig c) {
    return c.harnessTransport().group(c.eventLoops(), "lt-io");
  }
}
