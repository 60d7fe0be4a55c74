package org.presence.gateway.settings;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.presence.gateway.cache.Invalidations;
import org.presence.gateway.config.CachesConfig;
import org.presence.gateway.http.CallerRateLimit;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ShownText;
import org.presence.store.user.UserSettings;
import org.presence.store.user.UserSettingsRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user's presence policy and messages (seed 000, "For Device Users"): read and change them, for
 * the settings page and the device daemon's JSON API. A change is announced on the bus as
 * invalidation {@code settings:<sub>}, so that every node drops its cached copy and a node holding
 * the user's devices tells them; {@linkplain #addListener listeners} (the device channel: the
 * user's current presence with the new messages) hear of it before the caller's answer.
 *
 * <p>Cache of settings, read by the device channel for every status (the messages a status without
 * its own carries): key the user ({@code sub}), bound {@code caches.settings.max-size}, ttl {@code
 * caches.settings.ttl}, invalidated on every node by {@code settings:<sub>}. Only users who have
 * stored settings take a cache entry and a database read: the node knows who they are ({@link
 * StoredSettingsIndex}, read in full at {@linkplain #start start}, then every ttl only the users
 * whose settings changed ({@link StoredSettingsReader}), and told of every change by the same
 * invalidation), and answers the defaults for everyone else at once.
 */
public final class SettingsService {
  private static final Logger LOG = LoggerFactory.getLogger(SettingsService.class);

  /** Invalidation kind announcing a change of a user's settings. */
  public static final String KIND = "settings";

  /**
   * A change: {@code null} fields keep their current value.
   *
   * @param onlineWithinMinutes 5, 10, 15 or 20
   * @param awayAfterMinutes 5, 10, 15 or 20, and at least {@code onlineWithinMinutes}
   * @param offlineAfterMinutes 10, 25 or 35, and more than {@code awayAfterMinutes}
   * @param customStatus at most 140 characters
   * @param awayMessage at most 140 characters
   */
  public record Change(
      Integer onlineWithinMinutes,
      Integer awayAfterMinutes,
      Integer offlineAfterMinutes,
      String customStatus,
      String awayMessage) {}

  /** Hears of a change once it is saved and announced; the answer waits for its stage. */
  @FunctionalInterface
  public interface Listener {
    /** The user's settings are now {@code saved}. */
    CompletionStage<Void> changed(UserSettings saved);
  }

  private final UserSettingsRepository settings;
  private final Invalidations invalidations;
  private final AsyncLoadingCache<String, UserSettings> cache;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final StoredSettingsIndex stored = new StoredSettingsIndex();
  private final StoredSettingsReader storedReader;
  private final CachesConfig.Spec spec;
  private final CallerRateLimit changes;
  private final CallerRateLimit apiReads;
  private final LongAdder reads = new LongAdder();
  private volatile boolean closed;

  /**
   * Settings whose changes are limited per user by {@code changes} (taken once a change is checked,
   * before it is saved: a refused change takes no token), and whose reads through the JSON API by
   * {@code apiReads}.
   */
  public SettingsService(
      UserSettingsRepository settings,
      Invalidations invalidations,
      CachesConfig.Spec spec,
      CallerRateLimit changes,
      CallerRateLimit apiReads) {
    this.settings = settings;
    this.invalidations = invalidations;
    this.spec = spec;
    this.changes = changes;
    this.apiReads = apiReads;
    // The changes of the last ttl again at each read: a margin for the clocks of the nodes that
    // saved them.
    this.storedReader =
        new StoredSettingsReader(
            settings,
            stored,
            (int) Math.min(spec.maxSize(), Integer.MAX_VALUE - 1),
            spec.ttl(),
            java.time.Clock.systemUTC());
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(spec.maxSize())
            .expireAfterWrite(spec.ttl())
            .buildAsync(
                (String user, java.util.concurrent.Executor ex) -> {
                  reads.increment();
                  return settings.get(user).toCompletableFuture();
                });
    invalidations.register(
        KIND,
        user -> {
          // Known first: a read right after the entry is dropped goes to the database.
          stored.heard(user);
          cache.synchronous().invalidate(user);
        });
  }

  /**
   * Reads who has stored settings, now and then (those who changed them) every {@code
   * caches.settings.ttl}, off the caller's thread; call once invalidations from other nodes arrive,
   * so that no change made during the first read is missed. Until a read succeeds, every user's
   * settings come from the database.
   */
  public void start() {
    loadIndex();
  }

  private void loadIndex() {
    if (closed) {
      return;
    }
    storedReader
        .read()
        .whenComplete(
            (outcome, e) -> {
              if (closed) {
                return;
              }
              if (e != null) {
                LOG.warn(
                    "users with settings not read (each connect reads its user's until a read"
                        + " succeeds): {}",
                    e.toString());
              } else if (outcome == StoredSettingsReader.Outcome.TOO_MANY) {
                // Settings rows are never deleted: there will never be fewer; read no more.
                LOG.info(
                    "more than caches.settings.max-size ({}) users have settings: each connect"
                        + " reads its user's (until the node restarts)",
                    spec.maxSize());
                return;
              }
              CompletableFuture.delayedExecutor(spec.ttl().toNanos(), TimeUnit.NANOSECONDS)
                  .execute(this::loadIndex);
            });
  }

  /** Stops reading who has settings. */
  public void close() {
    closed = true;
  }

  /**
   * Whether the node knows which users have stored settings (then a user without any costs no
   * database read).
   */
  public boolean knowsStoredUsers() {
    return stored.known();
  }

  /** How many times the cache read a user's settings from the database since start. */
  public long databaseReads() {
    return reads.sum();
  }

  /** Adds a listener of changes, called in the order added. */
  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  /**
   * The user's settings from the cache (loaded from the store when missing); the defaults at once
   * for a user the node knows has none stored.
   */
  public CompletionStage<UserSettings> cached(String user) {
    if (!stored.mayHave(user)) {
      return CompletableFuture.completedFuture(UserSettings.defaults(user));
    }
    return cache.get(user);
  }

  /**
   * The user's settings if the cache holds them loaded now (the defaults for a user the node knows
   * has none stored), else {@code null}; never waits.
   */
  public UserSettings cachedNow(String user) {
    if (!stored.mayHave(user)) {
      return UserSettings.defaults(user);
    }
    CompletableFuture<UserSettings> f = cache.getIfPresent(user);
    return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
  }

  /** The user's settings (the defaults until they change them). */
  public CompletionStage<UserSettings> get(String user) {
    return settings.get(user);
  }

  /**
   * {@link #cached} for the JSON API's {@code GET /api/settings}: fails with {@code SLOW_DOWN} (40,
   * a {@link org.presence.gateway.http.RetryLaterException}) beyond the user's rate of reads
   * ({@code settings.read-rate}, {@code settings.read-burst}, on this node), before the cache or
   * the database is asked. The cache answers as the database would: every change drops the user's
   * entry here before its answer and on the other nodes when {@code settings:<sub>} arrives (a lost
   * one: stale there for at most {@code caches.settings.ttl}, as for the device channel).
   */
  public CompletionStage<UserSettings> read(String user) {
    return apiReads.take(user).thenCompose(v -> cached(user));
  }

  /**
   * Applies {@code change}; fails with {@code INVALID_SETTING} (154), or with {@code SLOW_DOWN}
   * (40, a {@link org.presence.gateway.http.RetryLaterException}) beyond the user's rate of changes
   * ({@code settings.rate}, {@code settings.burst}), and then changes nothing.
   */
  public CompletionStage<UserSettings> update(String user, Change change) {
    return settings
        .get(user)
        .thenCompose(
            current -> {
              UserSettings next =
                  new UserSettings(
                      user,
                      or(change.onlineWithinMinutes(), current.onlineWithinMinutes()),
                      or(change.awayAfterMinutes(), current.awayAfterMinutes()),
                      or(change.offlineAfterMinutes(), current.offlineAfterMinutes()),
                      message("custom_status", change.customStatus(), current.customStatus()),
                      message("away_message", change.awayMessage(), current.awayMessage()));
              check(next);
              return changes.take(user).thenCompose(v -> settings.put(next));
            })
        .thenCompose(saved -> invalidations.publish(KIND, user).thenApply(v -> saved))
        .thenCompose(saved -> tell(saved).thenApply(v -> saved));
  }

  private CompletionStage<Void> tell(UserSettings saved) {
    return CompletableFuture.allOf(
        listeners.stream()
            .map(l -> l.changed(saved).toCompletableFuture())
            .toArray(CompletableFuture<?>[]::new));
  }

  private static int or(Integer v, int fallback) {
    return v == null ? fallback : v;
  }

  private static String message(String field, String value, String fallback) {
    if (value == null) {
      return fallback;
    }
    String s = value.strip();
    String what = field.equals("custom_status") ? "Your custom status" : "Your away message";
    if (s.length() > UserSettings.MAX_MESSAGE_LENGTH) {
      throw new Refused(
          field + ": at most " + UserSettings.MAX_MESSAGE_LENGTH + " characters",
          what
              + " is "
              + s.length()
              + " characters long; it can be at most "
              + UserSettings.MAX_MESSAGE_LENGTH
              + ".");
    }
    String problem = ShownText.problem(s);
    if (problem != null) {
      throw new Refused(
          field + ": " + problem,
          what + " contains an invisible control character; type it again without it.");
    }
    return s;
  }

  /**
   * Refuses a policy that is not one of the offered choices, or that contradicts itself: away
   * before online ends (online within 20 minutes but away after 5 would make a device idle for 10
   * minutes both), or offline no later than away.
   */
  private static void check(UserSettings s) {
    choice(
        "online_within_minutes",
        s.onlineWithinMinutes(),
        UserSettings.ONLINE_CHOICES,
        "Show me online");
    choice("away_after_minutes", s.awayAfterMinutes(), UserSettings.AWAY_CHOICES, "Show me away");
    choice(
        "offline_after_minutes",
        s.offlineAfterMinutes(),
        UserSettings.OFFLINE_CHOICES,
        "Show me offline");
    if (s.awayAfterMinutes() < s.onlineWithinMinutes()) {
      throw new Refused(
          "away_after_minutes must not be below online_within_minutes",
          "You would show as online for "
              + s.onlineWithinMinutes()
              + " minutes after you last used a device, but as away after only "
              + s.awayAfterMinutes()
              + ". Choose an away time of at least "
              + s.onlineWithinMinutes()
              + " minutes, or a shorter online time.");
    }
    if (s.awayAfterMinutes() >= s.offlineAfterMinutes()) {
      throw new Refused(
          "away_after_minutes must be below offline_after_minutes",
          "You would show as offline after "
              + s.offlineAfterMinutes()
              + " minutes, before you would show as away after "
              + s.awayAfterMinutes()
              + ". Choose an offline time longer than the away time.");
    }
    if (!s.valid()) {
      throw new ProtocolException(ErrorCode.INVALID_SETTING);
    }
  }

  private static void choice(String field, int value, int[] choices, String label) {
    if (Arrays.stream(choices).noneMatch(c -> c == value)) {
      throw new Refused(
          field + " must be one of " + Arrays.toString(choices),
          "Choose one of the times offered for \u201c" + label + "\u201d.");
    }
  }

  /**
   * A change refused with {@code INVALID_SETTING} (154): its {@linkplain #reason() reason} names
   * the API's fields, {@link #inWords()} says the same for the person at the settings page.
   */
  public static final class Refused extends ProtocolException {
    private static final long serialVersionUID = 1L;

    private final String inWords;

    public Refused(String reason, String inWords) {
      super(ErrorCode.INVALID_SETTING, reason);
      this.inWords = inWords;
    }

    /** The refusal in the words of the settings page, without the API's field names. */
    public String inWords() {
      return inWords;
    }
  }
}
