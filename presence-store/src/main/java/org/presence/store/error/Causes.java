package org.presence.store.error;

/**
 * The innermost cause of a failure chain, which usually says what broke ("Connection refused"), for
 * the node's log and for start-up lines; never for a client's answer, which names no library text,
 * host or port ({@code errors.md}). Here, not in the store's root package, so that every package of
 * the store and the gateway may use it without a package cycle; the client library and the daemon
 * do not depend on the store and keep their own.
 */
public final class Causes {
  private Causes() {}

  /**
   * The last of {@code t}'s causes (following {@link Throwable#getCause()} until none, or one that
   * is its own cause); {@code t} itself when it has none.
   */
  public static Throwable innermost(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }

  /**
   * The message of {@link #innermost}, as it is (it may hold line breaks), or its class's simple
   * name when it has none.
   */
  public static String innermostMessage(Throwable t) {
    Throwable c = innermost(t);
    String m = c.getMessage();
    return m == null ? c.getClass().getSimpleName() : m;
  }
}
