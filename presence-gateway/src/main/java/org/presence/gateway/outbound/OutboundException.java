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

  /** A short text for error details: the failure and its detail. */
  public String describe() {
    String kind = failure.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    return getMessage() == null ? kind : kind + ": " + getMessage();
  }
}
