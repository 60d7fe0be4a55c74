package org.presence.store.app;

import java.util.Locale;

/**
 * An application's life cycle: registered, then domain verified, then activated (has an API key).
 */
public enum AppState {
  /** Registered; its domain is not proven yet. */
  REGISTERED,
  /** Its domain served the verification key; no API key yet, or deactivated. */
  VERIFIED,
  /** Has a working API key: can receive presence and send notifications. */
  ACTIVE;

  /** The value stored in the database and shown in the API. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The state for a stored value. */
  public static AppState fromWire(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
