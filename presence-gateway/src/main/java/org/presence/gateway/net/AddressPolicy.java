package org.presence.gateway.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import org.presence.gateway.config.OutboundConfig;

/**
 * Decides which addresses the node may connect to for URLs a developer gave it (domain proof,
 * webhooks): public addresses always; loopback, private and link-local ones only when {@link
 * OutboundConfig} allows them; unspecified, multicast, broadcast and reserved ones never. IPv6
 * forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that address.
 */
public final class AddressPolicy {
  /** What an address is, for the policy. */
  public enum Kind {
    /** Routable on the Internet. */
    PUBLIC,
    /** 127.0.0.0/8, ::1. */
    LOOPBACK,
    /** RFC 1918, fc00::/7, 100.64.0.0/10, 192.0.0.0/24, 198.18.0.0/15, fec0::/10. */
    PRIVATE,
    /** 169.254.0.0/16, fe80::/10. */
    LINK_LOCAL,
    /** Unspecified, multicast, broadcast, documentation and reserved ranges: never reachable. */
    NEVER
  }

  private final boolean allowLoopback;
  private final boolean allowPrivate;
  private final boolean allowLinkLocal;

  public AddressPolicy(OutboundConfig config) {
    this(config.allowLoopback(), config.allowPrivate(), config.allowLinkLocal());
  }

  public AddressPolicy(boolean allowLoopback, boolean allowPrivate, boolean allowLinkLocal) {
    this.allowLoopback = allowLoopback;
    this.allowPrivate = allowPrivate;
    this.allowLinkLocal = allowLinkLocal;
  }

  /** Whether the node may connect to {@code address}. */
  public boolean allows(InetAddress address) {
    return switch (classify(address)) {
      case PUBLIC -> true;
      case LOOPBACK -> allowLoopback;
      case PRIVATE -> allowPrivate;
      case LINK_LOCAL -> allowLinkLocal;
      case NEVER -> false;
    };
  }

  /** A short reason for refusing {@code address}, for error details and logs. */
  public static String describe(InetAddress address) {
    return classify(address).name().toLowerCase(Locale.ROOT).replace('_', '-')
        + " address " + address.getHostAddress();
  }

  /** The kind of {@code address}. */
  public static Kind classify(InetAddress address) {
    if (address instanceof Inet6Address v6) {
      Inet4Address embedded = embeddedIpv4(v6.getAddress());
      if (embedded != null) {
        return classify(embedded);
      }
      return classify6(v6);
    }
    return classify4(address.getAddress());
  }

  private static Kind classify4(byte[] b) {
    int a0 = b[0] & 0xff;
    int a1 = b[1] & 0xff;
    int a2 = b[2] & 0xff;
    if (a0 == 127) {
      return Kind.LOOPBACK;
    }
    if (a0 == 10 || (a0 == 172 && a1 >= 16 && a1 <= 31) || (a0 == 192 && a1 == 168)) {
      return Kind.PRIVATE;
    }
    if (a0 == 169 && a1 == 254) {
      return Kind.LINK_LOCAL;
    }
    if (a0 == 100 && a1 >= 64 && a1 <= 127) {
      return Kind.PRIVATE; // shared address space (carrier-grade NAT), RFC 6598
    }
    if ((a0 == 192 && a1 == 0 && a2 == 0) || (a0 == 198 && (a1 == 18 || a1 == 19))) {
      return Kind.PRIVATE; // IETF protocol assignments; benchmarking networks
    }
    if (a0 == 0 || a0 >= 224) {
      return Kind.NEVER; // "this network", multicast, reserved and broadcast
    }
    if ((a0 == 192 && a1 == 0 && a2 == 2)
        || (a0 == 198 && a1 == 51 && a2 == 100)
        || (a0 == 203 && a1 == 0 && a2 == 113)) {
      return Kind.NEVER; // documentation ranges (RFC 5737)
    }
    return Kind.PUBLIC;
  }

  private static Kind classify6(Inet6Address a) {
    byte[] b = a.getAddress();
    if (a.isLoopbackAddress()) {
      return Kind.LOOPBACK;
    }
    if (a.isAnyLocalAddress() || a.isMulticastAddress()) {
      return Kind.NEVER;
    }
    if (a.isLinkLocalAddress()) {
      return Kind.LINK_LOCAL;
    }
    if (a.isSiteLocalAddress() || (b[0] & 0xfe) == 0xfc) {
      return Kind.PRIVATE; // deprecated site-local fec0::/10, unique-local fc00::/7
    }
    if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x01 && (b[2] & 0xff) == 0x0d
        && (b[3] & 0xff) == 0xb8) {
      return Kind.NEVER; // documentation 2001:db8::/32
    }
    return Kind.PUBLIC;
  }

  /**
   * The IPv4 address inside an IPv6 one: IPv4-mapped {@code ::ffff:a.b.c.d}, IPv4-compatible
   * {@code ::a.b.c.d}, NAT64 {@code 64:ff9b::a.b.c.d} or 6to4 {@code 2002:aabb:ccdd::}; else null.
   */
  static Inet4Address embeddedIpv4(byte[] b) {
    boolean firstTenZero = true;
    for (int i = 0; i < 10; i++) {
      firstTenZero &= b[i] == 0;
    }
    byte[] v4 = null;
    if (firstTenZero && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
      v4 = new byte[] {b[12], b[13], b[14], b[15]};
    } else if (firstTenZero && b[10] == 0 && b[11] == 0) {
      boolean small = b[12] == 0 && b[13] == 0 && b[14] == 0 && (b[15] & 0xff) <= 1;
      if (!small) { // ::, ::1 are themselves
        v4 = new byte[] {b[12], b[13], b[14], b[15]};
      }
    } else if ((b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff
        && (b[3] & 0xff) == 0x9b) {
      boolean middleZero = true;
      for (int i = 4; i < 12; i++) {
        middleZero &= b[i] == 0;
      }
      if (middleZero) {
        v4 = new byte[] {b[12], b[13], b[14], b[15]};
      }
    } else if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) {
      v4 = new byte[] {b[2], b[3], b[4], b[5]};
    }
    if (v4 == null) {
      return null;
    }
    try {
      return (Inet4Address) InetAddress.getByAddress(v4);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // four bytes are always a valid address
    }
  }
}
