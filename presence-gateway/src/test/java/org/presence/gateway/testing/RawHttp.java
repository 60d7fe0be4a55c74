package org.presence.gateway.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Writes raw bytes to a node and reads what comes back until the server closes or goes quiet: for
 * requests no well-behaved client would send.
 */
public final class RawHttp {
  private RawHttp() {}

  /** Sends {@code request} to {@code port} and returns everything read within {@code quietMs}. */
  public static String exchange(int port, byte[] request, int quietMs) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(quietMs);
      OutputStream out = s.getOutputStream();
      try {
        out.write(request);
        out.flush();
      } catch (IOException e) {
        // The server may close before reading everything we send (413 on a huge body).
      }
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      try {
        int n;
        while ((n = in.read(buf)) >= 0) {
          got.write(buf, 0, n);
        }
      } catch (SocketTimeoutException | java.net.SocketException e) {
        // Quiet or reset: return what arrived.
      }
      return got.toString(StandardCharsets.ISO_8859_1);
    }
  }

  /** How a connection ended for the client: what it read, and how reading stopped. */
  public record Ending(String answers, How how) {}

  /** How reading stopped. */
  public enum How {
    /** The server's FIN, after everything it sent. */
    END,
    /** A reset (the server closed with input unread): what was not read yet may be lost. */
    RESET,
    /** Nothing more within the time given. */
    TIMEOUT
  }

  /**
   * Sends {@code request} to {@code port} from another thread (so the client goes on sending while
   * it reads, whatever the server does) and reads until the connection ends, at most {@code
   * timeoutMs}.
   */
  public static Ending untilTheEnd(int port, byte[] request, int timeoutMs) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(timeoutMs);
      Thread writer =
          new Thread(
              () -> {
                try {
                  OutputStream out = s.getOutputStream();
                  for (int i = 0; i < request.length; i += 4096) {
                    out.write(request, i, Math.min(4096, request.length - i));
                  }
                  out.flush();
                } catch (IOException e) {
                  // The server reset the connection: the reader sees it too.
                }
              },
              "raw-http-writer");
      writer.setDaemon(true);
      writer.start();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      How how;
      try {
        int n;
        while ((n = in.read(buf)) >= 0) {
          got.write(buf, 0, n);
        }
        how = How.END;
      } catch (SocketTimeoutException e) {
        how = How.TIMEOUT;
      } catch (java.net.SocketException e) {
        how = How.RESET;
      }
      writer.join(timeoutMs);
      return new Ending(got.toString(StandardCharsets.ISO_8859_1), how);
    }
  }

  /** As {@link #exchange(int, byte[], int)} with an ASCII request. */
  public static String exchange(int port, String request) throws IOException {
    return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), 1500);
  }

  /** Reads one response with a {@code Content-Length}, leaving the connection open. */
  public static String readResponse(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed after " + head);
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : h.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    return h + new String(body, StandardCharsets.UTF_8);
  }
}
