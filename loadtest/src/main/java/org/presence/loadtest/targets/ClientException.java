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

  /**
   * The kind of any throwable, read along its cause chain (Netty wraps the system's errors, for
   * example EMFILE in a {@code ChannelException}): the first {@link ClientException}'s own kind or
   * known failure found, else {@code io-error} when an {@link java.io.IOException} is in the chain,
   * else the class of the outermost exception that is not a mere wrapper.
   */
  public static String kindOf(Throwable t) {
    Throwable outer = t;
    while ((outer instanceof java.util.concurrent.CompletionException
            || outer instanceof java.util.concurrent.ExecutionException)
        && outer.getCause() != null) {
      outer = outer.getCause();
    }
    boolean io = false;
    Throwable c = outer;
    for (int depth = 0; c != null && depth < 16; depth++, c = c.getCause()) {
      String kind = known(c);
      if (kind != null) {
        return kind;
      }
      io |= c instanceof java.io.IOException;
    }
    return io ? "io-error" : outer.getClass().getSimpleName();
  }

  /** The kind of {@code c} itself, or null when it is not a failure the harness names. */
  private static String known(Throwable c) {
    if (c instanceof ClientException ce) {
      return ce.kind();
    }
    String msg = String.valueOf(c.getMessage());
    if (msg.contains("Too many open files")) {
      return "too-many-open-files";
    }
    if (msg.contains("Cannot assign requested address")) {
      return "no-free-local-port";
    }
    // Netty's ConnectTimeoutException is a ConnectException: asked first.
    if (c instanceof io.netty.channel.ConnectTimeoutException
        || c instanceof java.net.http.HttpConnectTimeoutException) {
      return "connect-timeout";
    }
    if (c instanceof java.net.ConnectException) {
      return "connect-refused";
    }
    if (c instanceof java.util.concurrent.TimeoutException) {
      return "timeout";
    }
    return null;
  }
}
