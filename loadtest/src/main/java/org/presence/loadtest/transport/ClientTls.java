package org.presence.loadtest.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * TLS of the harness's own sockets ({@code wss://} WebSockets, {@code https://} posts): the JDK's
 * TLS, trusting what the JVM trusts (its default trust store, or {@code
 * -Djavax.net.ssl.trustStore=FILE}, as the harness's JDK HTTP clients do), with the server's name
 * checked against its certificate. One context serves every socket of the process.
 */
final class ClientTls {
  private static volatile SslContext context;

  private ClientTls() {}

  /** A handler for a new socket to {@code host}:{@code port}; first in its pipeline. */
  static SslHandler handler(ByteBufAllocator alloc, String host, int port) {
    SslHandler h = context().newHandler(alloc, host, port);
    SSLEngine engine = h.engine();
    SSLParameters p = engine.getSSLParameters();
    p.setEndpointIdentificationAlgorithm("HTTPS");
    engine.setSSLParameters(p);
    return h;
  }

  private static SslContext context() {
    SslContext c = context;
    if (c == null) {
      synchronized (ClientTls.class) {
        c = context;
        if (c == null) {
          try {
            c = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).build();
          } catch (SSLException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
          }
          context = c;
        }
      }
    }
    return c;
  }
}
