package org.presence.loadtest.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.LongStream;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.scenario.Population;
import org.presence.loadtest.scenario.Simulation;

/**
 * Identity assertions of this injector's device users, minted before the run (on all cores) so that
 * signing never competes with connecting. A user keeps its token for the whole run, so its
 * reconnects present the same assertion, as a real device would.
 */
public final class Tokens {
  private final Map<Long, String> byUser;
  private final TokenMinter minter;

  private Tokens(Map<Long, String> byUser, TokenMinter minter) {
    this.byUser = byUser;
    this.minter = minter;
  }

  /** No tokens: the target needs none. */
  public static Tokens none() {
    return new Tokens(Map.of(), null);
  }

  /** Mints a token for every device user of slice {@code injector} of {@code injectors}. */
  public static Tokens mint(TokenMinter minter, Simulation sim, int injector, int injectors) {
    Map<Long, String> out = new ConcurrentHashMap<>();
    long base = 0;
    for (Population p : sim.populations()) {
      if (p.role() != Population.Role.DEVICES) {
        continue;
      }
      long b = base;
      long users = p.profile().users();
      LongStream.range(0, p.profile().sliceSize(injector, injectors))
          .parallel()
          .map(k -> b + injector + k * injectors)
          .filter(id -> id < b + users)
          .forEach(id -> out.put(id, minter.mint(id)));
      base += users;
    }
    return new Tokens(out, minter);
  }

  /** The token of {@code user}; minted now if it was not (empty when there is no minter). */
  public String get(long user) {
    String t = byUser.get(user);
    if (t != null) {
      return t;
    }
    return minter == null ? "" : minter.mint(user);
  }

  /** How many were minted ahead. */
  public int size() {
    return byUser.size();
  }
}
