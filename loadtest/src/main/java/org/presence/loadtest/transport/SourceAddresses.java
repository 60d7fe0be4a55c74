package org.presence.loadtest.transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The local addresses client sockets bind to, taken in turn. One source address gives a client at
 * most about 28,000 ephemeral ports (Linux's default range) towards one server address and port;
 * spreading sockets over {@code 127.0.0.1-127.0.0.8} multiplies that, since all of 127.0.0.0/8 is
 * loopback. Only useful when the target is reachable from those addresses (loopback, or addresses
 * this machine owns). Empty: the kernel picks.
 */
public final class SourceAddresses {
  private final List<InetAddress> addresses;
  private final AtomicInteger next = new AtomicInteger();

  private SourceAddresses(List<InetAddress> addresses) {
    this.addresses = List.copyOf(addresses);
  }

  /** The kernel picks the source address. */
  public static SourceAddresses any() {
    return new SourceAddresses(List.of());
  }

  /**
   * Parses a comma-separated list of IPv4 addresses and ranges, such as {@code 127.0.0.1-127.0.0.8}
   * or {@code 127.0.0.2,127.0.0.3}; blank means {@link #any()}.
   */
  public static SourceAddresses parse(String spec) {
    if (spec == null || spec.isBlank()) {
      return any();
    }
    List<InetAddress> out = new ArrayList<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      int dash = p.indexOf('-');
      if (dash < 0) {
        out.add(ipv4(p));
        continue;
      }
      long from = toLong(ipv4(p.substring(0, dash).trim()));
      long to = toLong(ipv4(p.substring(dash + 1).trim()));
      if (to < from || to - from > 65_535) {
        throw new IllegalArgumentException("bad address range: " + p);
      }
      for (long a = from; a <= to; a++) {
        out.add(fromLong(a));
      }
    }
    return new SourceAddresses(out);
  }

  /** This list's share for injector {@code index} of {@code count}: every count-th address. */
  public SourceAddresses slice(int index, int count) {
    if (addresses.size() < count) {
      return this;
    }
    List<InetAddress> out = new ArrayList<>();
    for (int i = index; i < addresses.size(); i += count) {
      out.add(addresses.get(i));
    }
    return new SourceAddresses(out);
  }

  /** The addresses, in order. */
  public List<InetAddress> addresses() {
    return addresses;
  }

  /** The next address to bind, with an ephemeral port, or null to let the kernel pick. */
  public InetSocketAddress next() {
    if (addresses.isEmpty()) {
      return null;
    }
    int i = Math.floorMod(next.getAndIncrement(), addresses.size());
    return new InetSocketAddress(addresses.get(i), 0);
  }

  /** The spec form, for passing to injector processes. */
  public String spec() {
    return String.join(",", addresses.stream().map(InetAddress::getHostAddress).toList());
  }

  private static InetAddress ipv4(String text) {
    if (!text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      throw new IllegalArgumentException("not an IPv4 address: " + text);
    }
    try {
      return InetAddress.getByName(text);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IPv4 address: " + text, e);
    }
  }

  private static long toLong(InetAddress a) {
    byte[] b = a.getAddress();
    return ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
  }

  private static InetAddress fromLong(long v) {
    byte[] b = {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
