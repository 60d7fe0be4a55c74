package org.presence.gateway.net;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The client address of a connection: the TCP peer, unless a trusted proxy forwarded the request
 * for someone else ({@link TrustedProxies}). The HTTP router works it out for every request (a
 * proxy may carry many clients' requests over one kept-alive connection) and keeps it in a channel
 * attribute only when it differs from the peer, so a node that trusts no proxy never touches the
 * attribute; a WebSocket keeps the one of its upgrade request.
 */
public final class ClientAddress {
  private static final AttributeKey<InetAddress> FORWARDED =
      AttributeKey.valueOf("presence.forwarded-for");

  private ClientAddress() {}

  /**
   * Works out the client of the request now read on {@code ch}, with {@code headers}, and keeps it
   * for {@link #of}. Does nothing when {@code proxies} is empty.
   */
  public static void update(Channel ch, HttpHeaders headers, TrustedProxies proxies) {
    if (proxies.isEmpty()) {
      return;
    }
    InetAddress peer = peer(ch);
    InetAddress client = proxies.clientAddress(peer, headers);
    boolean forwarded = client != null && !client.equals(peer);
    if (forwarded) {
      ch.attr(FORWARDED).set(client);
    } else if (ch.hasAttr(FORWARDED)) {
      // An earlier request on this connection came for someone else; this one does not.
      ch.attr(FORWARDED).set(null);
    }
  }

  /** The client's address: the forwarded one if {@link #update} found one, else the peer's. */
  public static InetAddress of(Channel ch) {
    InetAddress forwarded = forwarded(ch);
    return forwarded != null ? forwarded : peer(ch);
  }

  /** The TCP peer's address, or {@code null} when it has none (an embedded test channel). */
  public static InetAddress peer(Channel ch) {
    return ch.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
  }

  /**
   * Who is at the other end, for logs: the peer ({@code /10.0.0.7:51234}), or the forwarded client
   * and the proxy it came through ({@code 203.0.113.9 via /10.0.0.7:51234}).
   */
  public static String describe(Channel ch) {
    InetAddress forwarded = forwarded(ch);
    String peer = String.valueOf(ch.remoteAddress());
    return forwarded == null ? peer : forwarded.getHostAddress() + " via " + peer;
  }

  private static InetAddress forwarded(Channel ch) {
    if (!ch.hasAttr(FORWARDED)) {
      return null;
    }
    Attribute<InetAddress> a = ch.attr(FORWARDED);
    return a.get();
  }
}
