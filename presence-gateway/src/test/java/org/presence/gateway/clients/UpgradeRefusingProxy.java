package org.presence.gateway.clients;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A proxy on loopback that passes plain HTTP on to a node but answers every WebSocket upgrade with
 * {@code 400} (as some corporate proxies do), to test the clients' fallback to the stream.
 */
final class UpgradeRefusingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final AtomicInteger refused = new AtomicInteger();
  private final CopyOnWriteArrayList<Socket> sockets = new CopyOnWriteArrayList<>();

  private UpgradeRefusingProxy(ServerSocket server, int target) {
    this.server = server;
    this.target = target;
  }

  static UpgradeRefusingProxy start(int targetPort) throws IOException {
    UpgradeRefusingProxy p =
        new UpgradeRefusingProxy(
            new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), targetPort);
    Thread t = new Thread(p::accept, "upgrade-refusing-proxy");
    t.setDaemon(true);
    t.start();
    return p;
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  int refusedUpgrades() {
    return refused.get();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        sockets.add(client);
        Thread t = new Thread(() -> serve(client), "upgrade-refusing-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      InputStream in = client.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int b;
      while ((b = in.read()) >= 0) {
        head.write(b);
        byte[] h = head.toByteArray();
        int n = h.length;
        if (n >= 4
            && h[n - 4] == '\r'
            && h[n - 3] == '\n'
            && h[n - 2] == '\r'
            && h[n - 1] == '\n') {
          break;
        }
        if (n > 16 * 1024) {
          return;
        }
      }
      String text = head.toString(StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
      if (text.contains("upgrade: websocket")) {
        refused.incrementAndGet();
        client
            .getOutputStream()
            .write(
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
        return;
      }
      try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target)) {
        sockets.add(upstream);
        upstream.getOutputStream().write(head.toByteArray());
        Thread back = new Thread(() -> pipe(upstream, client), "upgrade-refusing-proxy-back");
        back.setDaemon(true);
        back.start();
        pipe(client, upstream);
        back.join(5_000);
      }
    } catch (IOException | InterruptedException e) {
      // The connection ended.
    }
  }

  private static void pipe(Socket from, Socket to) {
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // One side closed.
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
