package org.presence.gateway.identity;

import com.nimbusds.jose.jwk.JWKSet;
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
import java.util.concurrent.CompletionStage;
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
    return new Refreshing(refreshInterval, minRefreshInterval, clock, file.toString()) {
      @Override
      CompletionStage<JWKSet> load() {
        try (InputStream in = Files.newInputStream(file)) {
          byte[] bytes = in.readNBytes(MAX_JWKS_BYTES + 1);
          if (bytes.length > MAX_JWKS_BYTES) {
            throw new IOException("JWKS file larger than " + MAX_JWKS_BYTES + " bytes");
          }
          return CompletableFuture.completedFuture(
              JWKSet.parse(new String(bytes, StandardCharsets.UTF_8)).toPublicJWKSet());
        } catch (IOException | ParseException e) {
          return CompletableFuture.failedFuture(e);
        }
      }
    };
  }

  /** Keys from a JWKS URL, fetched asynchronously with a timeout and a size cap. */
  public static JwksSource url(
      URI uri,
      HttpClient client,
      Duration timeout,
      Duration refreshInterval,
      Duration minRefreshInterval,
      Clock clock) {
    return new Refreshing(refreshInterval, minRefreshInterval, clock, uri.toString()) {
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
   */
  abstract static class Refreshing extends JwksSource {
    private final Duration refreshInterval;
    private final Duration minRefreshInterval;
    private final Clock clock;
    private final String name;
    private final AtomicReference<JWKSet> keys = new AtomicReference<>();
    private final AtomicReference<CompletableFuture<JWKSet>> inFlight = new AtomicReference<>();
    private volatile Instant lastAttempt = Instant.MIN;
    private volatile Instant lastSuccess = Instant.MIN;

    Refreshing(Duration refreshInterval, Duration minRefreshInterval, Clock clock, String name) {
      this.refreshInterval = refreshInterval;
      this.minRefreshInterval = minRefreshInterval;
      this.clock = clock;
      this.name = name;
    }

    /** Loads the set once; the result of a failed load is only logged. */
    abstract CompletionStage<JWKSet> load();

    @Override
    public JWKSet current() {
      JWKSet k = keys.get();
      if (k != null && clock.instant().isAfter(lastSuccess.plus(refreshInterval))) {
        refresh();
      }
      return k == null ? new JWKSet() : k;
    }

    @Override
    public boolean unavailable() {
      return keys.get() == null;
    }

    /** Loads now unless a load ran within the minimum interval; concurrent callers share one. */
    CompletionStage<JWKSet> refresh() {
      CompletableFuture<JWKSet> running = inFlight.get();
      if (running != null) {
        return running;
      }
      Instant now = clock.instant();
      if (lastAttempt != Instant.MIN && now.isBefore(lastAttempt.plus(minRefreshInterval))) {
        return CompletableFuture.completedFuture(current());
      }
      CompletableFuture<JWKSet> mine = new CompletableFuture<>();
      if (!inFlight.compareAndSet(null, mine)) {
        return inFlight.get();
      }
      lastAttempt = now;
      load()
          .whenComplete(
              (set, e) -> {
                if (e != null) {
                  LOG.warn("cannot load identity keys from {}: {}", name, e.getMessage());
                } else {
                  keys.set(set);
                  lastSuccess = clock.instant();
                }
                inFlight.set(null);
                JWKSet k = keys.get();
                mine.complete(k == null ? new JWKSet() : k);
              });
      return mine;
    }

    @Override
    public CompletionStage<JWKSet> refreshForUnknownKey() {
      return refresh();
    }

    /** Takes {@code set} as the current one (a load the subclass ran itself). */
    void replace(JWKSet set) {
      keys.set(set);
      lastSuccess = clock.instant();
    }
  }
}
