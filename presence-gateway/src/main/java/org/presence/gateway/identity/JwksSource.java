package org.presence.gateway.identity;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetBasedJWKSource;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the keys of an identity provider come from: a fixed set (the development key), a JWKS file,
 * or a JWKS URL. URL and file sources keep the last good set and refresh it periodically and
 * whenever a token names a key they do not have, at most once per {@code minRefreshInterval}, so a
 * flood of tokens with made-up key ids cannot turn into a flood of fetches.
 */
public abstract class JwksSource {
  private static final Logger LOG = LoggerFactory.getLogger(JwksSource.class);

  /** Largest JWKS document accepted. */
  static final int MAX_JWKS_BYTES = 1024 * 1024;

  /** The current key set, or empty while none could be loaded yet. */
  public abstract JWKSet current();

  /**
   * Asks for a fresh set because a token named an unknown key; completes with the set to use (the
   * old one when a refresh is not allowed yet or fails).
   */
  public abstract CompletionStage<JWKSet> refreshForUnknownKey();

  /** Whether no set could be loaded at all yet (the provider is unreachable). */
  public boolean unavailable() {
    return false;
  }

  /** Where the keys come from: {@code fixed}, {@code jwks-file} or {@code jwks-url}. */
  public String kind() {
    return "fixed";
  }

  /** The file or URL the keys are read from; the kind for a fixed set. */
  public String location() {
    return kind();
  }

  /** A fixed key set (the development identity). */
  public static JwksSource fixed(JWKSet keys) {
    return new JwksSource() {
      @Override
      public JWKSet current() {
        return keys;
      }

      @Override
      public CompletionStage<JWKSet> refreshForUnknownKey() {
        return CompletableFuture.completedFuture(keys);
      }
    };
  }

  /**
   * Keys from a JWKS file, re-read periodically and when an unknown key shows up (rate-limited).
   */
  public static JwksSource file(
      Path file, Duration refreshInterval, Duration minRefreshInterval, Clock clock) {
    return new Refreshing(
        refreshInterval, minRefreshInterval, clock, "jwks-file", file.toString()) {
      @Override
      CompletionStage<JWKSet> load() {
        try {
          return CompletableFuture.completedFuture(readFile(file));
        } catch (IOException | ParseException e) {
          return CompletableFuture.failedFuture(e);
        }
      }
    };
  }

  /**
   * The public keys of a JWKS file, as a file source reads them; at start the configuration reads
   * the file once this way so that a broken one stops the node instead of refusing every device.
   *
   * @throws IOException when it cannot be read or is larger than {@link #MAX_JWKS_BYTES}
   * @throws ParseException when it is not a JSON Web Key Set
   */
  public static JWKSet readFile(Path file) throws IOException, ParseException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(MAX_JWKS_BYTES + 1);
      if (bytes.length > MAX_JWKS_BYTES) {
        throw new IOException("JWKS file larger than " + MAX_JWKS_BYTES + " bytes");
      }
      return JWKSet.parse(new String(bytes, StandardCharsets.UTF_8)).toPublicJWKSet();
    }
  }

  /** Keys from a JWKS URL, fetched asynchronously with a timeout and a size cap. */
  public static JwksSource url(
      URI uri,
      HttpClient client,
      Duration timeout,
      Duration refreshInterval,
      Duration minRefreshInterval,
      Clock clock) {
    return new Refreshing(refreshInterval, minRefreshInterval, clock, "jwks-url", uri.toString()) {
      @Override
      CompletionStage<JWKSet> load() {
        HttpRequest request =
            HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Accept", "application/json")
                .GET()
                .build();
        return client
            .sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
            .thenApply(
                response -> {
                  try (InputStream in = response.body()) {
                    if (response.statusCode() != 200) {
                      throw new IllegalStateException("HTTP " + response.statusCode());
                    }
                    byte[] bytes = in.readNBytes(MAX_JWKS_BYTES + 1);
                    if (bytes.length > MAX_JWKS_BYTES) {
                      throw new IllegalStateException(
                          "JWKS larger than " + MAX_JWKS_BYTES + " bytes");
                    }
                    return JWKSet.parse(new String(bytes, StandardCharsets.UTF_8)).toPublicJWKSet();
                  } catch (IOException | ParseException e) {
                    throw new IllegalStateException(e.getMessage(), e);
                  }
                });
      }
    };
  }

  /**
   * A source that loads its set, reloads it in the background once it is older than the refresh
   * interval (serving the old set meanwhile), and never loads more often than the minimum interval.
   * The cache is nimbus's ({@link JWKSourceBuilder}), driven with this source's clock; loads run on
   * a small daemon pool, never on the caller's thread (an event loop).
   */
  abstract static class Refreshing extends JwksSource {
    /** Longest a single load may take before it counts as failed. */
    static final Duration LOAD_TIMEOUT = Duration.ofSeconds(60);

    private static final ExecutorService LOADS =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "jwks-load");
              t.setDaemon(true);
              return t;
            });

    private final Duration refreshInterval;
    private final Clock clock;
    private final String kind;
    private final String name;
    private final JWKSetSource<SecurityContext> cache;
    private final AtomicReference<JWKSet> keys = new AtomicReference<>();
    private final AtomicReference<CompletableFuture<JWKSet>> inFlight = new AtomicReference<>();
    private volatile Instant freshUntil = Instant.MIN;

    Refreshing(
        Duration refreshInterval,
        Duration minRefreshInterval,
        Clock clock,
        String kind,
        String name) {
      this.refreshInterval = refreshInterval;
      this.clock = clock;
      this.kind = kind;
      this.name = name;
      JWKSource<SecurityContext> built =
          JWKSourceBuilder.create(new Throttled(minRefreshInterval.toMillis()))
              .cache(refreshInterval.toMillis(), LOAD_TIMEOUT.toMillis())
              .refreshAheadCache(false)
              .rateLimited(false)
              .retrying(false)
              .outageTolerant(false)
              .build();
      this.cache = ((JWKSetBasedJWKSource<SecurityContext>) built).getJWKSetSource();
    }

    /** Loads the set once; the result of a failed load is only logged. */
    abstract CompletionStage<JWKSet> load();

    @Override
    public JWKSet current() {
      JWKSet k = keys.get();
      if (k != null && clock.instant().isAfter(freshUntil)) {
        refresh();
      }
      return k == null ? new JWKSet() : k;
    }

    @Override
    public boolean unavailable() {
      return keys.get() == null;
    }

    @Override
    public String kind() {
      return kind;
    }

    @Override
    public String location() {
      return name;
    }

    /** Reloads the set if it is older than the refresh interval; concurrent callers share one. */
    CompletionStage<JWKSet> refresh() {
      return refresh(JWKSetCacheRefreshEvaluator.noRefresh());
    }

    @Override
    public CompletionStage<JWKSet> refreshForUnknownKey() {
      return refresh(JWKSetCacheRefreshEvaluator.forceRefresh());
    }

    private CompletionStage<JWKSet> refresh(JWKSetCacheRefreshEvaluator evaluator) {
      CompletableFuture<JWKSet> running = inFlight.get();
      if (running != null) {
        return running;
      }
      CompletableFuture<JWKSet> mine = new CompletableFuture<>();
      if (!inFlight.compareAndSet(null, mine)) {
        CompletableFuture<JWKSet> other = inFlight.get();
        return other != null ? other : CompletableFuture.completedFuture(current());
      }
      LOADS.execute(
          () -> {
            try {
              Instant now = clock.instant();
              JWKSet set = cache.getJWKSet(evaluator, now.toEpochMilli(), null);
              keys.set(set);
              freshUntil = now.plus(refreshInterval);
            } catch (RateLimitReachedException e) {
              // Loaded within the minimum interval: keep the set there is.
            } catch (KeySourceException | RuntimeException e) {
              LOG.warn("cannot load identity keys from {}: {}", name, reason(e));
            }
            inFlight.set(null);
            JWKSet k = keys.get();
            mine.complete(k == null ? new JWKSet() : k);
          });
      return mine;
    }

    /** Takes {@code set} as the current one (a load the subclass ran itself). */
    void replace(JWKSet set) {
      keys.set(set);
      freshUntil = clock.instant().plus(refreshInterval);
    }

    /** The cache's source: {@link #load()}, at most once per minimum interval. */
    private final class Throttled implements JWKSetSource<SecurityContext> {
      private final long minIntervalMillis;
      private long lastAttempt = Long.MIN_VALUE;

      Throttled(long minIntervalMillis) {
        this.minIntervalMillis = minIntervalMillis;
      }

      @Override
      public synchronized JWKSet getJWKSet(
          JWKSetCacheRefreshEvaluator evaluator, long now, SecurityContext context)
          throws KeySourceException {
        if (lastAttempt != Long.MIN_VALUE && now < lastAttempt + minIntervalMillis) {
          throw new RateLimitReachedException();
        }
        lastAttempt = now;
        try {
          return load().toCompletableFuture().get(LOAD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
          throw new KeySourceException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
          throw new KeySourceException("no answer within " + LOAD_TIMEOUT, e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new KeySourceException("interrupted", e);
        }
      }

      @Override
      public void close() {}
    }
  }

  /**
   * Why {@code e} happened, for a log line, never {@code null}: the innermost message in its causes
   * (wrappers such as {@link CompletionException} skipped); when none has one (a refused connection
   * ends in a {@code ConnectException} without a message, wrapped in a {@code KeySourceException}
   * without one), the simple name of the outermost {@link IOException} among them, else of the
   * innermost cause.
   */
  static String reason(Throwable e) {
    String message = null;
    String io = null;
    String innermost = e.getClass().getSimpleName();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CompletionException || t instanceof ExecutionException) {
        continue;
      }
      innermost = t.getClass().getSimpleName();
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        message = t.getMessage();
      } else if (io == null && t instanceof IOException) {
        io = innermost;
      }
    }
    return message != null ? message : io != null ? io : innermost;
  }
}
