package org.presence.gateway.xmpp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.net.ssl.SSLSocket;

/**
 * A hand-driven XMPP client over a real socket, for what a library would never send: it writes any
 * bytes and reads what the server answers as text, with STARTTLS and SASL PLAIN when asked.
 */
final class RawXmpp implements AutoCloseable {
  static final String HEADER =
      "<?xml version='1.0'?><stream:stream to='"
          + XmppFixture.DOMAIN
          + "' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
  private static final long WAIT_MS = 10_000;

  private Socket socket;
  private Socket plain;
  private InputStream in;
  private OutputStream out;
  private final StringBuilder received = new StringBuilder();
  private int mark;
  private boolean eof;

  private RawXmpp(Socket socket) throws IOException {
    use(socket);
  }

  static RawXmpp connect(int port) throws IOException {
    return new RawXmpp(new Socket(InetAddress.getLoopbackAddress(), port));
  }

  /** A direct TLS (XEP-0368) connection, trusting the self-signed certificate. */
  static RawXmpp connectTls(int port) throws IOException {
    SSLSocket tls =
        (SSLSocket)
            XmppFixture.trustAll()
                .getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), port);
    tls.setSoTimeout((int) WAIT_MS);
    tls.startHandshake();
    return new RawXmpp(tls);
  }

  /** A connection whose kernel receive buffer is small, for a client that stops reading. */
  static RawXmpp connectSmall(int port) throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    RawXmpp r = new RawXmpp(s);
    r.plain = s;
    return r;
  }

  /** Grows the receive buffer of a {@link #connectSmall} connection, to catch up in less time. */
  void readFaster() throws IOException {
    if (plain != null) {
      plain.setReceiveBufferSize(256 * 1024);
    }
  }

  private void use(Socket s) throws IOException {
    socket = s;
    socket.setSoTimeout(100);
    in = s.getInputStream();
    out = s.getOutputStream();
  }

  /** Sends {@code xml} in one write (several elements in it arrive together, pipelined). */
  void send(String xml) throws IOException {
    send(xml.getBytes(StandardCharsets.UTF_8));
  }

  void send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Reads until what arrived since the last await contains {@code needle}; returns that text. */
  String await(String needle) throws IOException {
    return await(needle, WAIT_MS);
  }

  /** As {@link #await(String)}, waiting up to {@code waitMs}. */
  String await(String needle, long waitMs) throws IOException {
    long deadline = System.currentTimeMillis() + waitMs;
    while (received.indexOf(needle, mark) < 0) {
      if (eof || System.currentTimeMillis() > deadline) {
        throw new AssertionError(
            "expected " + needle + (eof ? " before the end" : " in time") + ", got: " + since());
      }
      readSome();
    }
    String s = since();
    mark = received.indexOf(needle, mark) + needle.length();
    return s;
  }

  /**
   * Reads until the server closes the connection (fails after the wait); returns all text since.
   */
  String awaitEnd() throws IOException {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (!eof) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("the server did not close; got: " + since());
      }
      readSome();
    }
    return since();
  }

  private String since() {
    return received.substring(Math.min(mark, received.length()));
  }

  private void readSome() throws IOException {
    byte[] b = new byte[8192];
    try {
      int n = in.read(b);
      if (n < 0) {
        eof = true;
      } else {
        received.append(new String(b, 0, n, StandardCharsets.UTF_8));
      }
    } catch (SocketTimeoutException e) {
      // Nothing yet.
    } catch (IOException e) {
      // A reset after the server's close counts as the end.
      eof = true;
    }
  }

  /** Opens the stream and negotiates TLS (trusting the self-signed certificate). */
  RawXmpp startTls() throws IOException {
    send(HEADER);
    await("</stream:features>");
    send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await("<proceed");
    handshake();
    send(HEADER);
    await("</stream:features>");
    return this;
  }

  /** The TLS handshake after the server's {@code <proceed/>}; what follows is encrypted. */
  void handshake() throws IOException {
    SSLSocket tls =
        (SSLSocket)
            XmppFixture.trustAll()
                .getSocketFactory()
                .createSocket(socket, "127.0.0.1", socket.getPort(), true);
    tls.setUseClientMode(true);
    tls.setSoTimeout((int) WAIT_MS);
    tls.startHandshake();
    use(tls);
  }

  /** SASL PLAIN with {@code user} and {@code password}; returns the server's answer element. */
  String auth(String user, String password) throws IOException {
    return auth(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The {@code <auth/>} element of SASL PLAIN with {@code user} and {@code password}, to send with
   * other elements in one write.
   */
  static String authElement(String user, String password) {
    return authElement(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String authElement(byte[] message) {
    return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
        + Base64.getEncoder().encodeToString(message)
        + "</auth>";
  }

  /** SASL PLAIN with {@code message} as it is; returns the server's answer element. */
  String auth(byte[] message) throws IOException {
    send(authElement(message));
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (received.indexOf("<success", mark) < 0 && received.indexOf("</failure>", mark) < 0) {
      if (eof || System.currentTimeMillis() > deadline) {
        throw new AssertionError("no SASL answer; got: " + since());
      }
      readSome();
    }
    String s = since();
    mark = received.length();
    return s;
  }

  /** The resources {@link #login} binds: one of its own per connection. */
  private static final java.util.concurrent.atomic.AtomicInteger RESOURCES =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * TLS, SASL, a new stream and a bound resource of its own ({@code r1}, {@code r2}...): a second
   * connection binding the same full JID would end the first with {@code conflict}.
   */
  RawXmpp login(long appId, String key) throws IOException {
    startTls();
    String answer = auth(String.valueOf(appId), key);
    if (!answer.contains("<success")) {
      throw new AssertionError("login failed: " + answer);
    }
    send(HEADER);
    await("</stream:features>");
    send(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            + "<resource>r"
            + RESOURCES.incrementAndGet()
            + "</resource></bind></iq>");
    await("</jid>");
    return this;
  }

  /** This end's address: the node's connection has it as its remote address. */
  java.net.SocketAddress localAddress() {
    return socket.getLocalSocketAddress();
  }

  boolean closed() {
    return eof;
  }

  /** The socket (TLS after {@link #startTls}), to read it directly (XmppThroughputBench). */
  Socket socket() {
    return socket;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // Closing anyway.
    }
  }
}
