package org.presence.gateway.app;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.gateway.outbound.OutboundException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The domain proof of wiki section 2. The domain is proven by either of:
 *
 * <ul>
 *   <li>{@code https://<domain>/__presence} through the {@link GuardedHttpClient} (address guard,
 *       deadline, size cap, same-host redirects only), answering {@code text/plain} holding exactly
 *       the application's verification key (surrounding white space, such as a final newline, is
 *       ignored; the comparison is constant-time); where plain HTTP is allowed ({@code
 *       apps.verify-over-http}), {@code http://<domain>/__presence} as well;
 *   <li>a DNS TXT record {@code _presence.<host>} (the domain without its port) whose text is the
 *       key (a record's strings are joined, so a 1024-character key spans several).
 * </ul>
 *
 * <p>All are tried at once; the first that proves the domain settles it. A failure tells the
 * developer only where the key was looked for, the same words whatever went wrong (a refused
 * connection, a timeout, a wrong key), so that the proof cannot be used to scan what answers where;
 * what went wrong is logged.
 */
public final class DomainVerifier {
  private static final Logger LOG = LoggerFactory.getLogger(DomainVerifier.class);

  /** Where the key must be served. */
  public static final String PATH = "/__presence";

  /** The TXT record's name is this prefix and the domain's host. */
  public static final String TXT_PREFIX = "_presence.";

  private static final Pattern IPV4 = Pattern.compile("[0-9.]+");

  private final GuardedHttpClient client;
  private final Duration timeout;
  private final int maxBytes;
  private final boolean overHttp;

  public DomainVerifier(
      GuardedHttpClient client, Duration timeout, int maxBytes, boolean overHttp) {
    this.client = client;
    this.timeout = timeout;
    this.maxBytes = maxBytes;
    this.overHttp = overHttp;
  }

  /** The URL the key must be served at for {@code domain} (HTTPS; the proof tried first). */
  public static String proofUrl(String domain) {
    return "https://" + domain + PATH;
  }

  /**
   * The name of the TXT record that proves {@code domain}, or {@code null} for an IPv4 address or
   * {@code localhost}, which have no TXT proof.
   */
  public static String txtName(String domain) {
    String host = host(domain);
    return hasTxtProof(host) ? TXT_PREFIX + host : null;
  }

  private static boolean hasTxtProof(String host) {
    return !IPV4.matcher(host).matches() && !host.equals("localhost");
  }

  /** Whether plain HTTP may prove a domain here. */
  public boolean overHttp() {
    return overHttp;
  }

  /**
   * Completes normally when {@code domain} proves {@code key}; fails with {@code
   * ADDRESS_NOT_ALLOWED} (134) when the domain points at a refused address and no TXT record proves
   * it, and {@code DOMAIN_VERIFICATION_FAILED} (133) otherwise, each with a fixed reason.
   */
  public CompletionStage<Void> verify(String domain, String key) {
    List<String> notes = java.util.Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Boolean>> proofs = new ArrayList<>();
    proofs.add(fetch(URI.create(proofUrl(domain)), key, notes));
    if (overHttp) {
      // At once rather than after HTTPS: a plain HTTP server may never answer a TLS hello.
      proofs.add(fetch(URI.create("http://" + domain + PATH), key, notes));
    }
    proofs.add(lookup(domain, key, notes));
    CompletableFuture<Void> result = new CompletableFuture<>();
    Runnable settle =
        () -> {
          if (result.isDone()) {
            return;
          }
          if (proofs.stream().anyMatch(p -> p.getNow(false))) {
            result.complete(null);
          } else if (proofs.stream().allMatch(CompletableFuture::isDone)) {
            LOG.info("domain proof of {} failed: {}", domain, String.join("; ", notes));
            result.completeExceptionally(refusal(domain, notes));
          }
        };
    proofs.forEach(p -> p.whenComplete((ok, e) -> settle.run()));
    return result;
  }

  /** Whether {@code uri} serves the key; never fails (what went wrong goes to {@code notes}). */
  private CompletableFuture<Boolean> fetch(URI uri, String key, List<String> notes) {
    return client
        .send(GuardedHttpClient.Request.get(uri, maxBytes, timeout))
        .handle(
            (response, failure) -> {
              if (failure != null) {
                Throwable t = unwrap(failure);
                if (t instanceof OutboundException oe
                    && oe.failure() == OutboundException.Failure.ADDRESS_NOT_ALLOWED) {
                  notes.add("ADDRESS " + uri + ": " + oe.describe());
                } else {
                  notes.add(
                      uri
                          + ": "
                          + (t instanceof OutboundException oe ? oe.describe() : t.toString()));
                }
                return false;
              }
              if (response.status() != 200) {
                notes.add(uri + ": HTTP " + response.status());
                return false;
              }
              String type = response.contentType().toLowerCase(Locale.ROOT).strip();
              if (!type.equals("text/plain") && !type.startsWith("text/plain;")) {
                notes.add(uri + ": content type " + type + ", not text/plain");
                return false;
              }
              String body = new String(response.body(), StandardCharsets.UTF_8).strip();
              if (!Secrets.equalsConstantTime(body, key)) {
                notes.add(uri + ": the key served does not match");
                return false;
              }
              return true;
            })
        .toCompletableFuture();
  }

  /** Whether a TXT record {@code _presence.<host>} holds the key; never fails. */
  private CompletableFuture<Boolean> lookup(String domain, String key, List<String> notes) {
    String host = host(domain);
    if (!hasTxtProof(host)) {
      notes.add("no TXT record for an address or localhost");
      return CompletableFuture.completedFuture(false);
    }
    String name = TXT_PREFIX + host;
    return client
        .txt(name)
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (texts, failure) -> {
              if (failure != null) {
                Throwable t = unwrap(failure);
                notes.add(
                    name
                        + " TXT: "
                        + (t instanceof OutboundException oe ? oe.describe() : t.toString()));
                return false;
              }
              for (String t : texts) {
                if (Secrets.equalsConstantTime(t.strip(), key)) {
                  return true;
                }
              }
              notes.add(name + " TXT: " + texts.size() + " record(s), none is the key");
              return false;
            });
  }

  private RuntimeException refusal(String domain, List<String> notes) {
    boolean refusedAddress;
    synchronized (notes) {
      refusedAddress = notes.stream().anyMatch(n -> n.startsWith("ADDRESS "));
    }
    if (refusedAddress) {
      return new ProtocolException(
          ErrorCode.ADDRESS_NOT_ALLOWED,
          domain + " points at an address this node does not connect to");
    }
    String where =
        proofUrl(domain)
            + (overHttp ? ", http://" + domain + PATH : "")
            + (txtName(domain) == null ? "" : " or a DNS TXT record " + txtName(domain));
    return new ProtocolException(
        ErrorCode.DOMAIN_VERIFICATION_FAILED, "the key was not found at " + where);
  }

  /** The domain without its port. */
  static String host(String domain) {
    int colon = domain.lastIndexOf(':');
    return colon >= 0 ? domain.substring(0, colon) : domain;
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }
}
