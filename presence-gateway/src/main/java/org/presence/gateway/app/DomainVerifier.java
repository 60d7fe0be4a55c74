package org.presence.gateway.app;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.net.GuardedHttpClient;
import org.presence.gateway.net.OutboundException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The domain proof of wiki section 2: fetches {@code http://<domain>/__presence} through the
 * {@link GuardedHttpClient} (address guard, deadline, size cap, same-host redirects only) and
 * checks that it is {@code text/plain} holding exactly the application's verification key
 * (surrounding white space, such as a final newline, is ignored; the comparison is constant-time).
 */
public final class DomainVerifier {
  /** Where the key must be served. */
  public static final String PATH = "/__presence";

  private final GuardedHttpClient client;
  private final Duration timeout;
  private final int maxBytes;

  public DomainVerifier(GuardedHttpClient client, Duration timeout, int maxBytes) {
    this.client = client;
    this.timeout = timeout;
    this.maxBytes = maxBytes;
  }

  /** The URL the key must be served at for {@code domain}. */
  public static String proofUrl(String domain) {
    return "http://" + domain + PATH;
  }

  /**
   * Completes normally when {@code domain} serves {@code key}; fails with {@code
   * ADDRESS_NOT_ALLOWED} (134) when the domain points at a refused address and {@code
   * DOMAIN_VERIFICATION_FAILED} (133, with what went wrong) otherwise.
   */
  public CompletionStage<Void> verify(String domain, String key) {
    URI uri = URI.create(proofUrl(domain));
    return client
        .send(GuardedHttpClient.Request.get(uri, maxBytes, timeout))
        .handle(
            (response, failure) -> {
              if (failure != null) {
                throw translate(failure);
              }
              if (response.status() != 200) {
                throw failed("HTTP " + response.status() + " from " + uri);
              }
              String type = response.contentType().toLowerCase(Locale.ROOT).strip();
              if (!type.equals("text/plain") && !type.startsWith("text/plain;")) {
                throw failed("content type must be text/plain");
              }
              String body = new String(response.body(), StandardCharsets.UTF_8).strip();
              if (!Secrets.equalsConstantTime(body, key)) {
                throw failed("the key served does not match");
              }
              return null;
            });
  }

  private static RuntimeException translate(Throwable failure) {
    Throwable t =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    if (t instanceof OutboundException oe) {
      return oe.failure() == OutboundException.Failure.ADDRESS_NOT_ALLOWED
          ? new ProtocolException(ErrorCode.ADDRESS_NOT_ALLOWED, oe.getMessage())
          : failed(oe.describe());
    }
    return t instanceof RuntimeException re ? re : new CompletionException(t);
  }

  private static ProtocolException failed(String detail) {
    return new ProtocolException(ErrorCode.DOMAIN_VERIFICATION_FAILED, detail);
  }
}
