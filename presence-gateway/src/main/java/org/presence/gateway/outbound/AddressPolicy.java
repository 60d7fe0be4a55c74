package org.presence.gateway.outbound;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import org.presence.gateway.config.OutboundConfig;

/**
 * Decides which addresses the node may connect to for URLs a developer gave it (domain proof,
 * webhooks): global unicast addresses always; loopback, private and link-local ones only when
 * {@link OutboundConfig} allows them; everything else never.
 *
 * <p>Global unicast is IPv4 outside the IANA IPv4 special-purpose registry, and IPv6 inside {@code
 * 2000::/3} outside the IANA IPv6 special-purpose registry (the blocks the registry marks globally
 * reachable, such as the AS112 and AMT ones, stay allowed). The tables are {@link #V4} and {@link
 * #V6}, matched with the {@code ipaddress} library. IPv6 forms that carry an IPv4 address a host
 * can be reached at (IPv4-mapped {@code ::ffff:0:0/96}, the well-known NAT64 prefix {@code
 * 64:ff9b::/96} and 6to4 {@code 2002::/16}) are judged by that address; the other forms (Teredo,
 * IPv4-compatible, IPv4-translated {@code ::ffff:0:0:0/96}, local-use NAT64 {@code 64:ff9b:1::/48})
 * are refused.
 */
public final class AddressPolicy {
  /** What an address is, for the policy. */
  public enum Kind {
    /** Global unicast: routable on the Internet. */
    PUBLIC,
    /** 127.0.0.0/8, ::1. */
    LOOPBACK,
    /** RFC 1918, fc00::/7, 100.64.0.0/10, 192.0.0.0/24, 198.18.0.0/15, fec0::/10. */
    PRIVATE,
    /** 169.254.0.0/16, fe80::/10. */
    LINK_LOCAL,
    /** Every other special-purpose or non-unicast block: never reachable. */
    NEVER
  }

  /** One block of a special-purpose registry and what the policy makes of it. */
  private record Block(IPAddress block, Kind kind, String name) {
    static Block of(String cidr, Kind kind, String name) {
      return new Block(new IPAddressString(cidr).getAddress(), kind, name);
    }
  }

  /**
   * The IANA IPv4 special-purpose address registry, most specific first; blocks it marks globally
   * reachable (192.0.0.9/32, 192.0.0.10/32, 192.31.196.0/24, 192.52.193.0/24, 192.175.48.0/24) are
   * left out and so are public.
   */
  private static final List<Block> V4 =
      List.of(
          Block.of("0.0.0.0/8", Kind.NEVER, "this network"),
          Block.of("10.0.0.0/8", Kind.PRIVATE, "private-use"),
          Block.of("100.64.0.0/10", Kind.PRIVATE, "shared address space"),
          Block.of("127.0.0.0/8", Kind.LOOPBACK, "loopback"),
          Block.of("169.254.0.0/16", Kind.LINK_LOCAL, "link-local"),
          Block.of("172.16.0.0/12", Kind.PRIVATE, "private-use"),
          Block.of("192.0.0.9/32", Kind.PUBLIC, "PCP anycast"),
          Block.of("192.0.0.10/32", Kind.PUBLIC, "TURN anycast"),
          Block.of("192.0.0.0/24", Kind.PRIVATE, "IETF protocol assignments"),
          Block.of("192.0.2.0/24", Kind.NEVER, "documentation (TEST-NET-1)"),
          Block.of("192.88.99.0/24", Kind.NEVER, "deprecated 6to4 relay anycast"),
          Block.of("192.168.0.0/16", Kind.PRIVATE, "private-use"),
          Block.of("198.18.0.0/15", Kind.PRIVATE, "benchmarking"),
          Block.of("198.51.100.0/24", Kind.NEVER, "documentation (TEST-NET-2)"),
          Block.of("203.0.113.0/24", Kind.NEVER, "documentation (TEST-NET-3)"),
          Block.of("224.0.0.0/4", Kind.NEVER, "multicast"),
          Block.of("240.0.0.0/4", Kind.NEVER, "reserved and limited broadcast"));

  /**
   * The IANA IPv6 special-purpose address registry (and the other non-global blocks), most specific
   * first. An address in none of them is public only inside {@code 2000::/3}.
   */
  private static final List<Block> V6 =
      List.of(
          Block.of("::1/128", Kind.LOOPBACK, "loopback"),
          Block.of("::/128", Kind.NEVER, "unspecified"),
          Block.of("64:ff9b:1::/48", Kind.NEVER, "local-use IPv4/IPv6 translation"),
          Block.of("100::/64", Kind.NEVER, "discard-only"),
          Block.of("100:0:0:1::/64", Kind.NEVER, "dummy prefix"),
          Block.of("2001:1::1/128", Kind.PUBLIC, "PCP anycast"),
          Block.of("2001:1::2/128", Kind.PUBLIC, "TURN anycast"),
          Block.of("2001:1::3/128", Kind.PUBLIC, "DNS-SD SRP anycast"),
          Block.of("2001:3::/32", Kind.PUBLIC, "AMT"),
          Block.of("2001:4:112::/48", Kind.PUBLIC, "AS112-v6"),
          Block.of("2001:20::/28", Kind.PUBLIC, "ORCHIDv2"),
          Block.of("2001:30::/28", Kind.PUBLIC, "drone remote ID"),
          Block.of("2001::/32", Kind.NEVER, "Teredo"),
          Block.of("2001:db8::/32", Kind.NEVER, "documentation"),
          Block.of("2001::/23", Kind.NEVER, "IETF protocol assignments"),
          Block.of("3fff::/20", Kind.NEVER, "documentation"),
          Block.of("5f00::/16", Kind.NEVER, "segment routing SIDs"),
          Block.of("fc00::/7", Kind.PRIVATE, "unique-local"),
          Block.of("fe80::/10", Kind.LINK_LOCAL, "link-local"),
          Block.of("fec0::/10", Kind.PRIVATE, "deprecated site-local"),
          Block.of("ff00::/8", Kind.NEVER, "multicast"));

  private static final IPAddress GLOBAL_UNICAST_V6 = new IPAddressString("2000::/3").getAddress();
  private static final IPAddress MAPPED = new IPAddressString("::ffff:0:0/96").getAddress();
  private static final IPAddress NAT64 = new IPAddressString("64:ff9b::/96").getAddress();
  private static final IPAddress SIX_TO_FOUR = new IPAddressString("2002::/16").getAddress();

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

  /** A short reason for refusing {@code address}, for logs (never for the developer's answer). */
  public static String describe(InetAddress address) {
    IPAddress a = toIp(address);
    Block b = find(a);
    String what = b != null ? b.name() : classify(address).name().toLowerCase(Locale.ROOT);
    return what.replace('_', '-') + " address " + address.getHostAddress();
  }

  /** The kind of {@code address}. */
  public static Kind classify(InetAddress address) {
    IPAddress a = toIp(address);
    if (a instanceof IPv6Address v6) {
      IPv4Address embedded = reachableIpv4(v6);
      if (embedded != null) {
        return classify(embedded);
      }
    }
    return classify(a);
  }

  private static Kind classify(IPAddress a) {
    Block b = find(a);
    if (b != null) {
      return b.kind();
    }
    if (a.isIPv6() && !GLOBAL_UNICAST_V6.contains(a)) {
      return Kind.NEVER; // outside 2000::/3: reserved by the IETF, or one of the forms refused
    }
    return Kind.PUBLIC;
  }

  private static Block find(IPAddress a) {
    for (Block b : a.isIPv4() ? V4 : V6) {
      if (b.block().contains(a)) {
        return b;
      }
    }
    return null;
  }

  private static IPAddress toIp(InetAddress address) {
    byte[] bytes = address.getAddress();
    // Scope ids (fe80::1%eth0) do not change the kind.
    return address instanceof Inet6Address ? new IPv6Address(bytes) : new IPv4Address(bytes);
  }

  /**
   * The IPv4 address a connection to {@code v6} reaches: IPv4-mapped {@code ::ffff:a.b.c.d},
   * well-known NAT64 {@code 64:ff9b::a.b.c.d} or 6to4 {@code 2002:aabb:ccdd::}; else null.
   */
  static IPv4Address reachableIpv4(IPv6Address v6) {
    if (MAPPED.contains(v6) || NAT64.contains(v6)) {
      return v6.getEmbeddedIPv4Address();
    }
    if (SIX_TO_FOUR.contains(v6)) {
      return v6.get6To4IPv4Address();
    }
    return null;
  }
}
