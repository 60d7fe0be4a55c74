package org.presence.loadtest.engine;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
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

  /** Lines that say how minting goes start with this. */
  public static final String PROGRESS = "minting: ";

  /** How often minting says how far it got. */
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  /**
   * Mints a token for every device user of slice {@code injector} of {@code injectors}, on all
   * cores. A large slice takes a while (an ES256 signature costs a fraction of a millisecond of a
   * core), so {@code progress} gets a line before (how many, an estimate), every {@link
   * #PROGRESS_EVERY} (how many so far) and after (how long it took); each starts with {@link
   * #PROGRESS}. Fewer than {@link #QUIET_BELOW} tokens are minted without a word.
   */
  public static Tokens mint(
      TokenMinter minter, Simulation sim, int injector, int injectors, Consumer<String> progress) {
    return mint(minter, sim, injector, injectors, progress, QUIET_BELOW);
  }

  /** As above, quiet below {@code quietBelow} tokens (tests use fewer). */
  static Tokens mint(
      TokenMinter minter,
      Simulation sim,
      int injector,
      int injectors,
      Consumer<String> progress,
      long quietBelow) {
    long total = 0;
    for (Population p : sim.populations()) {
      if (p.role() == Population.Role.DEVICES) {
        total += p.profile().sliceSize(injector, injectors);
      }
    }
    Map<Long, String> out = new ConcurrentHashMap<>();
    AtomicLong done = new AtomicLong();
    boolean say = total >= quietBelow;
    long startNanos = System.nanoTime();
    ScheduledExecutorService ticker = null;
    if (say) {
      // Time a few to estimate the rest.
      long sampleNanos = System.nanoTime();
      minter.mint(-1);
      minter.mint(-1);
      long each = (System.nanoTime() - sampleNanos) / 2;
      int cores = Runtime.getRuntime().availableProcessors();
      progress.accept(
          String.format(
              Locale.ROOT,
              "%s%d identity assertions on %d core(s), about %d s",
              PROGRESS,
              total,
              cores,
              Math.max(1, Math.round(each * (double) total / cores / 1e9))));
      long all = total;
      ticker =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "lt-mint-progress");
                t.setDaemon(true);
                return t;
              });
      ticker.scheduleAtFixedRate(
          () -> progress.accept(PROGRESS + done.get() + " of " + all + " minted"),
          PROGRESS_EVERY.toMillis(),
          PROGRESS_EVERY.toMillis(),
          TimeUnit.MILLISECONDS);
    }
    try {
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
            .forEach(
                id -> {
                  out.put(id, minter.mint(id));
                  done.incrementAndGet();
                });
        base += users;
      }
    } finally {
      if (ticker != null) {
        ticker.shutdownNow();
      }
    }
    if (say) {
      progress.accept(
          String.format(
              Locale.ROOT,
              "%s%d minted in %.1f s",
              PROGRESS,
              done.get(),
              (System.nanoTime() - startNanos) / 1e9));
    }
    return new Tokens(out, minter);
  }

  /** Slices with fewer tokens than this are minted without progress lines. */
  static final long QUIET_BELOW = 1000;

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
