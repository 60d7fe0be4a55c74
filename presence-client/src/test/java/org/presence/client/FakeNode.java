package org.presence.client;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A node that misbehaves on purpose, on a loopback socket: each connection's WebSocket session (or
 * plain HTTP request) is played by a script of the test, one thread per connection. Only what the
 * clients need: the upgrade, unfragmented text frames both ways, pings answered, close frames.
 */
final class FakeNode implements AutoCloseable {
  /** Plays one WebSocket session (the upgrade already answered). */
  interface Script {
    void play(Conn conn, int number) throws Exception;
  }

  /** Answers one plain HTTP request (the header already read) on the raw socket. */
  interface HttpScript {
    void answer(String requestLine, Socket socket, int number) throws Exception;
  }

  private final ServerSocket server;
  private final Script script;
  private final HttpScript http;
  private final AtomicInteger connections = new AtomicInteger();
  private final CopyOnWriteArrayList<Socket> sockets = new CopyOnWriteArrayList<>();

  private FakeNode(Script script, HttpScript http) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.script = script;
    this.http = http;
    Thread t = new Thread(this::accept, "fake-node");
    t.setDaemon(true);
    t.start();
  }

  static FakeNode start(Script script) throws IOException {
    return new FakeNode(script, null);
  }

  static FakeNode http(HttpScript http) throws IOException {
    return new FakeNode(null, http);
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  /** Connections accepted so far. */
  int connections() {
    return connections.get();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        int n = connections.incrementAndGet();
        Thread t = new Thread(() -> serve(s, n), "fake-node-conn-" + n);
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s, int n) {
    try (s) {
      InputStream in = s.getInputStream();
      String head = readHead(in);
      String[] lines = head.split("\r\n");
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.put(
              lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
              lines[i].substring(colon + 1).trim());
        }
      }
      String key = headers.get("sec-websocket-key");
      if (key == null || script == null) {
        if (http != null) {
          http.answer(lines[0], s, n);
        }
        return;
      }
      String accept =
          Base64.getEncoder()
              .encodeToString(
                  MessageDigest.getInstance("SHA-1")
                      .digest(
                          (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                              .getBytes(StandardCharsets.US_ASCII)));
      OutputStream out = s.getOutputStream();
      out.write(
          ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  + "Sec-WebSocket-Accept: "
                  + accept
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      script.play(new Conn(s), n);
    } catch (IOException | NoSuchAlgorithmException e) {
      // The client went away, or the test closed the node.
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException();
      }
      b.write(c);
      state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  /** One WebSocket session, the node's end. */
  static final class Conn {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    Conn(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(socket.getInputStream());
      this.out = socket.getOutputStream();
    }

    /** The next text frame from the client (pings answered); EOFException at a close or EOF. */
    String readText() throws IOException {
      while (true) {
        int b1 = in.readUnsignedByte();
        int b2 = in.readUnsignedByte();
        int op = b1 & 0x0F;
        long len = b2 & 0x7F;
        if (len == 126) {
          len = in.readUnsignedShort();
        } else if (len == 127) {
          len = in.readLong();
        }
        byte[] mask = new byte[4];
        if ((b2 & 0x80) != 0) {
          in.readFully(mask);
        }
        byte[] p = new byte[(int) len];
        in.readFully(p);
        for (int i = 0; i < p.length; i++) {
          p[i] ^= mask[i % 4];
        }
        if (op == 1) {
          return new String(p, StandardCharsets.UTF_8);
        }
        if (op == 8) {
          throw new EOFException("closed by the client");
        }
        if (op == 9) {
          frame(0x0A, p);
        }
      }
    }

    void sendText(String text) throws IOException {
      frame(0x01, text.getBytes(StandardCharsets.UTF_8));
    }

    void sendClose(int code, String reason) throws IOException {
      byte[] r = reason.getBytes(StandardCharsets.UTF_8);
      byte[] p = new byte[2 + r.length];
      p[0] = (byte) (code >> 8);
      p[1] = (byte) code;
      System.arraycopy(r, 0, p, 2, r.length);
      frame(0x08, p);
    }

    void ping() throws IOException {
      frame(0x09, new byte[] {'p'});
    }

    /** Reads (and drops) frames until the client closes or the socket ends. */
    void drain() {
      try {
        while (true) {
          readText();
        }
      } catch (IOException e) {
        // Ended.
      }
    }

    void close() throws IOException {
      socket.close();
    }

    private synchronized void frame(int op, byte[] p) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.write(0x80 | op);
      if (p.length < 126) {
        b.write(p.length);
      } else if (p.length < 65536) {
        b.write(126);
        b.write(p.length >> 8);
        b.write(p.length);
      } else {
        b.write(127);
        for (int i = 7; i >= 0; i--) {
          b.write((int) ((long) p.length >> (8 * i)));
        }
      }
      b.write(p);
      out.write(b.toByteArray());
      out.flush();
    }
  }
}
