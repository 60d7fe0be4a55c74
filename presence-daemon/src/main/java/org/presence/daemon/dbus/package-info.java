/**
 * The D-Bus interfaces the desktop daemon talks to: the desktop notification service and
 * systemd-logind. Declarations only; the daemon's classes in {@code org.presence.daemon} use them.
 */
package org.presence.daemon.dbus;
