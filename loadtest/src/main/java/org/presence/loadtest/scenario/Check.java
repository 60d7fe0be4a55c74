package org.presence.loadtest.scenario;

import java.util.function.Predicate;

/**
 * A named condition on a virtual user, checked by {@link ChainBuilder#check}: when it does not
 * hold, the user fails and the error is counted as {@code check <name>}.
 *
 * @param name the name in the report
 * @param condition the condition
 */
public record Check(String name, Predicate<VirtualUser> condition) {
  /** The device connection is open. */
  public static Check connected() {
    return new Check("connected", u -> u.device() != null && u.device().isOpen());
  }

  /** The app connection is open. */
  public static Check subscribed() {
    return new Check("subscribed", u -> u.app() != null && u.app().isOpen());
  }

  /** At least {@code n} pushed frames arrived. */
  public static Check receivedAtLeast(long n) {
    return new Check("received>=" + n, u -> u.received() >= n);
  }
}
