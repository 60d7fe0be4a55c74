package org.presence.gateway.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Random;

/**
 * A WebSocket client over a plain socket that sends any frame, well-formed or not (binary,
 * fragments, invalid UTF-8, reserved opcodes), and does not answer pings unless asked: for input no
 * library client would send.
 */
public final class RawWebSocket implements AutoCloseable {
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CONTINUATION = 0x0;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  /** A frame from the server. */
  public record Frame(int opcode, boolean fin, byte[] payload) {
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** The close code of a close frame. */
    public int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final Random random = new Random();

  private RawWebSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** The client's end of the socket (the node sees it as the connection's remote address). */
  public SocketAddress localAddress() {
    return socket.getLocalSocketAddress();
  }

  /** Connects to {@code path} on {@code port} of 127.0.0.1 and completes the handshake. */
  public static RawWebSocket connect(int port, String path) throws IOException {
    return connect(port, path, 0);
  }

  /**
   * As {@link #connect(int, String)} with a receive buffer of {@code receiveBuffer} bytes (0: the
   * system's), for a client that reads little or nothing.
   */
  public static RawWebSocket connect(int port, String path, int receiveBuffer) throws IOException {
    return connect(port, path, receiveBuffer, null, new byte[0]);
  }

  /**
   * As {@link #connect(int, String)}, offering {@code subprotocol} ({@code Sec-WebSocket-Protocol};
   * none when {@code null}).
   */
  public static RawWebSocket connect(int port, String path, String subprotocol) throws IOException {
    return connect(port, path, 0, subprotocol, new byte[0]);
  }

  /**
   * As {@link #connect(int, String, String)}, sending {@code early} (frames made with {@link
   * #frame}) in the upgrade request's own write: a client that does not wait for the 101 before its
   * first frames, which the node then reads together with the request.
   */
  public static RawWebSocket connectSending(int port, String path, String subprotocol, byte[] early)
      throws IOException {
    return connect(port, path, 0, subprotocol, early);
  }

  private static RawWebSocket connect(
      int port, String path, int receiveBuffer, String subprotocol, byte[] early)
      throws IOException {
    Socket s = new Socket();
    if (receiveBuffer > 0) {
      s.setReceiveBufferSize(receiveBuffer);
    }
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(10_000);
    RawWebSocket ws = new RawWebSocket(s);
    byte[] key = new byte[16];
    ws.random.nextBytes(key);
    String request =
        "GET "
            + path
            + " HTTP/1.1\r\nHost: 127.0.0.1:"
            + port
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13"
            + "\r\nSec-WebSocket-Key: "
            + Base64.getEncoder().encodeToString(key)
            + (subprotocol == null ? "" : "\r\nSec-WebSocket-Protocol: " + subprotocol)
            + "\r\n\r\n";
    ByteArrayOutputStream write = new ByteArrayOutputStream();
    write.writeBytes(request.getBytes(StandardCharsets.US_ASCII));
    write.writeBytes(early);
    ws.out.write(write.toByteArray());
    ws.out.flush();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = ws.in.read();
      if (b < 0) {
        throw new EOFException("closed during handshake: " + head);
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String response = head.toString(StandardCharsets.ISO_8859_1);
    if (!response.startsWith("HTTP/1.1 101")) {
      s.close();
      throw new IOException("no upgrade: " + response);
    }
    return ws;
  }

  /** Sends one masked frame. */
  public void send(int opcode, boolean fin, byte[] payload) throws IOException {
    out.write(frame(opcode, fin, payload, random));
    out.flush();
  }

  /**
   * The bytes of one masked frame, so that a test can send many frames in one write (they then
   * reach the server in one read).
   */
  public static byte[] frame(int opcode, boolean fin, byte[] payload, Random random) {
    ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
    f.write((fin ? 0x80 : 0) | opcode);
    int n = payload.length;
    if (n < 126) {
      f.write(0x80 | n);
    } else if (n < 65536) {
      f.write(0x80 | 126);
      f.write(n >>> 8);
      f.write(n);
    } else {
      f.write(0x80 | 127);
      for (int i = 7; i >= 0; i--) {
        f.write((int) ((long) n >>> (8 * i)));
      }
    }
    byte[] mask = new byte[4];
    random.nextBytes(mask);
    f.writeBytes(mask);
    for (int i = 0; i < n; i++) {
      f.write(payload[i] ^ mask[i % 4]);
    }
    return f.toByteArray();
  }

  /** Sends a text frame of {@code text}. */
  public void sendText(String text) throws IOException {
    send(TEXT, true, text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The next frame, or {@code null} when none arrives within {@code timeout} or the socket ends.
   */
  public Frame read(Duration timeout) throws IOException {
    socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
    try {
      int b0 = in.read();
      if (b0 < 0) {
        return null;
      }
      int b1 = readByte();
      long len = b1 & 0x7F;
      if (len == 126) {
        len = (readByte() << 8) | readByte();
      } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) {
          len = (len << 8) | readByte();
        }
      }
      byte[] payload = in.readNBytes((int) len);
      if (payload.length != len) {
        return null;
      }
      return new Frame(b0 & 0x0F, (b0 & 0x80) != 0, payload);
    } catch (SocketTimeoutException | EOFException e) {
      return null;
    } catch (java.net.SocketException e) {
      // Reset by the server.
      return null;
    }
  }

  /**
   * The next text frame, skipping pings (answered when {@code answerPings}); {@code null} when none
   * arrives in time or the server closed.
   */
  public String readText(Duration timeout, boolean answerPings) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      Frame f = read(Duration.ofNanos(left));
      if (f == null || f.opcode() == CLOSE) {
        return null;
      }
      if (f.opcode() == PING) {
        if (answerPings) {
          send(PONG, true, f.payload());
        }
        continue;
      }
      if (f.opcode() == TEXT) {
        return f.text();
      }
    }
  }

  /** Reads until the server's close frame and returns it, or {@code null} if none came. */
  public Frame awaitClose(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      Frame f = read(Duration.ofNanos(left));
      if (f == null) {
        return null;
      }
      if (f.opcode() == CLOSE) {
        return f;
      }
    }
  }

  /**
   * Whether the server closed the TCP connection (a read ends the stream) within {@code timeout}.
   */
  public boolean ended(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    socket.setSoTimeout(50);
    while (System.nanoTime() < deadline) {
      try {
        if (in.read() < 0) {
          return true;
        }
      } catch (SocketTimeoutException e) {
        // keep waiting
      } catch (java.net.SocketException e) {
        return true;
      }
    }
    return false;
  }

  private int readByte() throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new EOFException();
    }
    return b;
  }

  /** Writes raw bytes (not a frame). */
  public void sendBytes(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
