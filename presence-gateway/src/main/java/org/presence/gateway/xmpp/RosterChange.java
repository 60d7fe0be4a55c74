package org.presence.gateway.xmpp;

import java.nio.charset.StandardCharsets;

/**
 * A roster change one node tells the others on bus channel {@value #CHANNEL} (the one definition of
 * that channel and its format): a grant change made on one node reaches the XMPP sessions of its
 * application on every other node. UTF-8 {@code <node mark>\t<app id>\t<1 shared|0
 * removed>\t<puid>\t<user string>}; a tab in the user string is sent as a space.
 *
 * @param node the mark of the node that made the change (it skips its own changes)
 * @param appId the application
 * @param shared whether the PUID is now shared with the application (else removed)
 * @param puid the PUID
 * @param name the user string shown in the roster
 */
record RosterChange(String node, long appId, boolean shared, String puid, String name) {
  /** The bus channel. */
  static final String CHANNEL = "xmpp-roster";

  byte[] encode() {
    return String.join(
            "\t", node, String.valueOf(appId), shared ? "1" : "0", puid, name.replace('\t', ' '))
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Reads a change.
   *
   * @throws IllegalArgumentException when the message is not one
   */
  static RosterChange decode(byte[] message) {
    String[] f = new String(message, StandardCharsets.UTF_8).split("\t", 5);
    if (f.length != 5 || !(f[2].equals("1") || f[2].equals("0"))) {
      throw new IllegalArgumentException("not a roster change");
    }
    return new RosterChange(f[0], Long.parseLong(f[1]), f[2].equals("1"), f[3], f[4]);
  }
}
