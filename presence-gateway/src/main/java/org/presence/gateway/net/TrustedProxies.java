package org.presence.gateway.net;

import inet.ipaddr.IPAddress;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The proxies whose {@code X-Forwarded-For} the node believes ({@code gateway.trusted-proxies}):
 * IPv4 and IPv6 addresses and CIDR blocks, matched with the {@code ipaddress} library. Immutable
 * and thread-safe.
 *
 * <p>{@link #clientAddress} finds a request's client: when the TCP peer is trusted, the walk goes
 * through the {@code X-Forwarded-For} entries (every such header, joined in order) from the right,
 * the nearest hop first, and stops at the first address that is not a trusted proxy: that is the
 * client. When every entry is trusted, the leftmost is the client. An entry that is not an IP
 * literal (a port, {@code unknown}, a host name, an empty field) stops the walk: the last trusted
 * hop is the client, since nothing to the left of it can be believed. When the peer is not trusted
 * the header is ignored (anyone can send it).
 */
public final class TrustedProxies {
  /** The request header. */
  public static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");

  /** Trusts nobody: the client is always the TCP peer. */
  public static final TrustedProxies NONE = new TrustedProxies(new IPAddress[0]);

  private final IPAddress[] blocks;

  private TrustedProxies(IPAddress[] blocks) {
    this.blocks = blocks;
  }

  /**
   * The proxies in {@code entries}, each an IP address ({@code 10.0.0.5}, {@code 2001:db8::5}) or a
   * CIDR block ({@code 10.0.0.0/8}, {@code fd00::/8}).
   *
   * @throws IllegalArgumentException naming the first bad entry
   */
  public static TrustedProxies parse(List<String> entries) {
    if (entries.isEmpty()) {
      return NONE;
    }
    List<IPAddress> out = new ArrayList<>(entries.size());
    for (String e : entries) {
      out.add(block(e));
    }
    return new TrustedProxies(out.toArray(new IPAddress[0]));
  }

  /**
   * One entry: an address or a CIDR block.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  static IPAddress block(String entry) {
    String s = entry.trim();
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    IPAddress network = literal(host);
    if (network == null) {
      throw new IllegalArgumentException(
          "'" + entry + "' is not an IP address or CIDR block (host names are not resolved)");
    }
    boolean v6 = host.indexOf(':') >= 0;
    int bits = v6 ? 128 : 32;
    int prefix = bits;
    if (slash >= 0) {
      String p = s.substring(slash + 1);
      if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > bits) {
        throw new IllegalArgumentException(
            "'" + entry + "': the prefix length must be 0 to " + bits);
      }
      prefix = Integer.parseInt(p);
    }
    if (v6 && network.isIPv4()) {
      // An IPv4-mapped IPv6 block (::ffff:10.0.0.0/104) is the IPv4 block it maps.
      if (prefix < 96) {
        throw new IllegalArgumentException(
            "'" + entry + "': an IPv4-mapped block needs a prefix of 96 or more");
      }
      prefix -= 96;
    }
    IPAddress given = network.setPrefixLength(prefix, false);
    IPAddress block = given.toPrefixBlock();
    if (!block.getLower().withoutPrefixLength().equals(network)) {
      throw new IllegalArgumentException(
          "'"
              + entry
              + "' has bits set past its prefix (the block is "
              + block.toCanonicalString()
              + ")");
    }
    return block;
  }

  /** Whether no proxy is trusted (then the client is always the TCP peer). */
  public boolean isEmpty() {
    return blocks.length == 0;
  }

  /** Whether {@code address} is a trusted proxy. */
  public boolean trusts(InetAddress address) {
    if (address == null || blocks.length == 0) {
      return false;
    }
    IPAddress a = normalized(address.getAddress());
    for (IPAddress block : blocks) {
      if (block.contains(a)) {
        return true;
      }
    }
    return false;
  }

  /** The client of a request from {@code peer} with {@code headers} (see the class comment). */
  public InetAddress clientAddress(InetAddress peer, HttpHeaders headers) {
    if (blocks.length == 0 || !headers.contains(X_FORWARDED_FOR) || !trusts(peer)) {
      return peer;
    }
    return walk(peer, headers.getAll(X_FORWARDED_FOR));
  }

  /**
   * The client of a request from {@code peer} that carried the {@code X-Forwarded-For} headers
   * {@code forwardedFor}, in the order received.
   */
  public InetAddress clientAddress(InetAddress peer, List<String> forwardedFor) {
    if (blocks.length == 0 || forwardedFor.isEmpty() || !trusts(peer)) {
      return peer;
    }
    return walk(peer, forwardedFor);
  }

  /** From the right: the first untrusted address, else the leftmost; garbage stops the walk. */
  private InetAddress walk(InetAddress peer, List<String> values) {
    InetAddress hop = peer;
    for (int h = values.size() - 1; h >= 0; h--) {
      String v = values.get(h);
      int end = v.length();
      while (true) {
        int comma = end == 0 ? -1 : v.lastIndexOf(',', end - 1);
        String entry = v.substring(comma + 1, end).trim();
        InetAddress a = NetUtil.createInetAddressFromIpAddressString(entry);
        if (a == null) {
          return hop; // not an address: nothing from here leftwards can be believed
        }
        if (!trusts(a)) {
          return a;
        }
        hop = a;
        if (comma < 0) {
          break;
        }
        end = comma;
      }
    }
    return hop;
  }

  /** The IP literal {@code s} (IPv4-mapped IPv6 as IPv4), or {@code null}. */
  private static IPAddress literal(String s) {
    if (s.isEmpty() || s.startsWith("[")) {
      return null;
    }
    byte[] b = NetUtil.createByteArrayFromIpAddressString(s);
    return b == null ? null : normalized(b);
  }

  /**
   * The address of {@code b} (4 or 16 bytes); IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d}) as IPv4.
   */
  private static IPAddress normalized(byte[] b) {
    if (b.length == 4) {
      return new IPv4Address(b);
    }
    IPv6Address v6 = new IPv6Address(b);
    return v6.isIPv4Mapped() ? v6.getEmbeddedIPv4Address() : v6;
  }

  @Override
  public String toString() {
    return Arrays.toString(blocks);
  }
}
