package org.presence.gateway.net;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The proxies whose {@code X-Forwarded-For} the node believes ({@code gateway.trusted-proxies}):
 * IPv4 and IPv6 addresses and CIDR blocks. Immutable and thread-safe.
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
  public static final TrustedProxies NONE = new TrustedProxies(new Block[0]);

  private final Block[] blocks;

  private TrustedProxies(Block[] blocks) {
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
    List<Block> out = new ArrayList<>(entries.size());
    for (String e : entries) {
      out.add(block(e));
    }
    return new TrustedProxies(out.toArray(new Block[0]));
  }

  /**
   * One entry: an address or a CIDR block.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  static Block block(String entry) {
    String s = entry.trim();
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    byte[] network = literal(host);
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
    if (v6 && network.length == 4) {
      // An IPv4-mapped IPv6 block (::ffff:10.0.0.0/104) is the IPv4 block it maps.
      if (prefix < 96) {
        throw new IllegalArgumentException(
            "'" + entry + "': an IPv4-mapped block needs a prefix of 96 or more");
      }
      prefix -= 96;
    }
    Block b = new Block(network, prefix);
    if (!b.hostBitsZero()) {
      throw new IllegalArgumentException(
          "'" + entry + "' has bits set past its prefix (the block is " + b + ")");
    }
    return b;
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
    byte[] b = normalized(address.getAddress());
    for (Block block : blocks) {
      if (block.contains(b)) {
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

  /** The bytes of an IP literal (IPv4-mapped IPv6 as IPv4), or {@code null}. */
  private static byte[] literal(String s) {
    if (s.isEmpty() || s.startsWith("[")) {
      return null;
    }
    byte[] b = NetUtil.createByteArrayFromIpAddressString(s);
    return b == null ? null : normalized(b);
  }

  /** IPv4-mapped IPv6 bytes ({@code ::ffff:a.b.c.d}) as the four IPv4 bytes; others unchanged. */
  private static byte[] normalized(byte[] b) {
    if (b.length != 16) {
      return b;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return b;
      }
    }
    if ((b[10] & 0xff) != 0xff || (b[11] & 0xff) != 0xff) {
      return b;
    }
    return Arrays.copyOfRange(b, 12, 16);
  }

  @Override
  public String toString() {
    return Arrays.toString(blocks);
  }

  /** An address block: the network's bytes (4 or 16) and how many leading bits must match. */
  static final class Block {
    private final byte[] network;
    private final int prefix;

    Block(byte[] network, int prefix) {
      this.network = network;
      this.prefix = prefix;
    }

    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (address[full] & mask) == (network[full] & mask);
    }

    boolean hostBitsZero() {
      for (int i = 0; i < network.length; i++) {
        int keep = Math.max(0, Math.min(8, prefix - i * 8));
        int mask = (0xff << (8 - keep)) & 0xff;
        if ((network[i] & ~mask & 0xff) != 0) {
          return false;
        }
      }
      return true;
    }

    @Override
    public String toString() {
      byte[] masked = network.clone();
      for (int i = 0; i < masked.length; i++) {
        int keep = Math.max(0, Math.min(8, prefix - i * 8));
        masked[i] &= (byte) ((0xff << (8 - keep)) & 0xff);
      }
      String host;
      try {
        host = NetUtil.toAddressString(InetAddress.getByAddress(masked));
      } catch (java.net.UnknownHostException e) {
        throw new IllegalStateException(e); // 4 or 16 bytes are always an address
      }
      return host + "/" + prefix;
    }
  }
}
