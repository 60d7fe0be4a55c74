package org.presence.loadtest.targets;

/**
 * A client operation that failed, labelled with the error kind the report counts it under: {@code
 * errno N} for an error the server answered, or a short label ({@code connect-refused}, {@code
 * handshake-failed}, {@code closed}, {@code timeout}). Thrown without a stack trace: load runs may
 * produce many.
 */
public final class ClientException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String kind;

  /** A failure of {@code kind} with a human-readable {@code detail}. */
  public ClientException(String kind, String detail) {
    super(kind + ": " + detail, null, false, false);
    this.kind = kind;
  }

  /** A server error answered with {@code errno}. */
  public static ClientException errno(int errno, String reason) {
    return new ClientException(errnoKind(errno), reason);
  }

  /** The error kind of {@code errno}. */
  public static String errnoKind(int errno) {
    return "errno " + errno;
  }

  /** The label the report counts this under. */
  public String kind() {
    return kind;
  }

  /** The kind of any throwable: a {@link ClientException}'s own, otherwise its class. */
  public static String kindOf(Throwable t) {
    Throwable c = t;
    while ((c instanceof java.util.concurrent.CompletionException
            || c instanceof java.util.concurrent.ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof ClientException ce) {
      return ce.kind();
    }
    if (c instanceof java.net.ConnectException) {
      return "connect-refused";
    }
    if (c instanceof io.netty.channel.ConnectTimeoutException) {
      return "connect-timeout";
    }
    if (c instanceof java.util.concurrent.TimeoutException) {
      return "timeout";
    }
    String msg = String.valueOf(c.getMessage());
    if (msg.contains("Cannot assign requested address")) {
      return "no-free-local-port";
    }
    if (msg.contains("Too many open files")) {
      return "too-many-open-files";
    }
    if (c instanceof java.io.IOException) {
      return "io-error";
    }
    return c.getClass().getSimpleName();
  }
}
