package org.presence.protocol.device;

import java.util.Optional;

/**
 * The {@code type} values a device sends on the device channel (wiki, "1. Device Channel"):
 *
 * <ul>
 *   <li>{@code connect}: the session request, the first frame of a socket;
 *   <li>{@code status}: a status update of an open session;
 *   <li>{@code register_push}: ties the device's push-server presence id ({@code xpi}) to the
 *       session's user (seed 001, "Proposed Modifications to SimplePush");
 *   <li>{@code acknowledge}: the user acted on live notifications;
 *   <li>{@code dismiss}: the user dismissed live notifications;
 *   <li>{@code refresh}: a new identity token for the open session, before the old one expires.
 * </ul>
 */
public enum DeviceMessageType {
  CONNECT("connect"),
  STATUS("status"),
  REGISTER_PUSH("register_push"),
  ACKNOWLEDGE("acknowledge"),
  DISMISS("dismiss"),
  REFRESH("refresh");

  private static final DeviceMessageType[] VALUES = values();

  private final String wireName;
  private final char[] wireChars;

  DeviceMessageType(String wireName) {
    this.wireName = wireName;
    this.wireChars = wireName.toCharArray();
  }

  /** The JSON value of {@code type}. */
  public String wireName() {
    return wireName;
  }

  /** The type for a JSON value; case-sensitive. */
  public static Optional<DeviceMessageType> fromWire(String value) {
    for (DeviceMessageType t : VALUES) {
      if (t.wireName.equals(value)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }

  /** As {@link #fromWire}, on a slice of characters, without allocating; {@code null} if none. */
  static DeviceMessageType fromChars(char[] chars, int offset, int length) {
    for (DeviceMessageType t : VALUES) {
      if (Chars.equal(t.wireChars, chars, offset, length)) {
        return t;
      }
    }
    return null;
  }
}
