package org.presence.gateway.outbound;

import java.util.Locale;

/**
 * Why a {@link GuardedHttpClient} request failed. Callers turn it into their own error code: the
 * domain proof answers {@code ADDRESS_NOT_ALLOWED} for {@link Failure#ADDRESS_NOT_ALLOWED} and
 * {@code DOMAIN_VERIFICATION_FAILED} for the rest. It carries no stack trace: these are expected
 * outcomes of talking to someone else's server.
 */
public final class OutboundException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong. */
  public enum Failure {
    /** The URL is not absolute http(s) with a host, or has user info. */
    BAD_URL,
    /** The host resolves to an address the {@link AddressPolicy} refuses. */
    ADDRESS_NOT_ALLOWED,
    /** The host name does not resolve. */
    UNRESOLVABLE,
    /** No TCP (or TLS) connection could be made. */
    CONNECT_FAILED,
    /** The whole exchange took longer than its timeout. */
    TIMEOUT,
    /** The response body is larger than the cap. */
    TOO_LARGE,
    /** A redirect to another host, or too many redirects. */
    REDIRECT_REFUSED,
    /** The server answered something that is not HTTP, or closed mid-answer. */
    PROTOCOL
  }

  private final Failure failure;

  public OutboundException(Failure failure, String detail) {
    super(detail, null, false, false);
    this.failure = failure;
  }

  /** What went wrong. */
  public Failure failure() {
    return failure;
  }

  /** The prefix of a {@link Failure#CONNECT_FAILED} detail when the TLS handshake failed. */
  static final String TLS = "TLS: ";

  /**
   * The failure in a few fixed words, for a developer who can point a URL anywhere (the webhook
   * delivery log and test calls): what kind of thing went wrong, never the detail (no address,
   * port, certificate name or exception text), in the spirit of the domain proof's fixed reason, so
   * the node cannot be used to scan what answers where. The detail goes to the node's log.
   */
  public String inWords() {
    return switch (failure) {
      case BAD_URL -> "not a usable URL";
      case ADDRESS_NOT_ALLOWED -> "address not allowed";
      case UNRESOLVABLE -> "the host name did not resolve";
      case CONNECT_FAILED ->
          getMessage() != null && getMessage().startsWith(TLS) ? "TLS failed" : "could not connect";
      case TIMEOUT -> "timed out";
      case TOO_LARGE -> "answer too large";
      case REDIRECT_REFUSED -> "redirect not followed";
      case PROTOCOL -> "not a valid HTTP answer";
    };
  }

  /** A short text for error details: the failure and its detail. */
  public String describe() {
    String kind = failure.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    return getMessage() == null ? kind : kind + ": " + getMessage();
  }
}
