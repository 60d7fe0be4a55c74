package org.presence.gateway.testing;

import java.net.URI;

/**
 * Where a test reaches a node, and how it signs its users in: an in-process {@link TestNode} or a
 * node process of {@link NodeProcess}. The clients and fixtures of this package take either.
 */
public interface NodeAddress {
  /** {@code http://127.0.0.1:port} + {@code path}. */
  URI uri(String path);

  /** {@code ws://127.0.0.1:port} + {@code path}. */
  URI wsUri(String path);

  /** A development identity token for {@code email}, valid for an hour. */
  String token(String email);
}
