package org.presence.gateway.testing;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A developer's HTTPS site for tests, on 127.0.0.1: a self-signed certificate for the given names
 * (and 127.0.0.1), made with the JDK's {@code keytool}, so no extra library is needed. {@link
 * #certificatePem()} is the file to trust ({@code outbound.trust-file}).
 */
public final class TlsSite implements AutoCloseable {
  private final HttpsServer server;
  private final Path pem;
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile String key;

  private TlsSite(HttpsServer server, Path pem) {
    this.server = server;
    this.pem = pem;
  }

  /** Starts a site on a free port with a certificate for {@code dnsName} and 127.0.0.1. */
  public static TlsSite start(Path dir, String dnsName) {
    try {
      Path store = dir.resolve("site.p12");
      Path pem = dir.resolve("site.pem");
      String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
      run(
          keytool,
          "-genkeypair",
          "-alias",
          "site",
          "-keyalg",
          "RSA",
          "-keysize",
          "2048",
          "-dname",
          "CN=" + dnsName,
          "-ext",
          "SAN=dns:" + dnsName + ",ip:127.0.0.1",
          "-validity",
          "2",
          "-storetype",
          "PKCS12",
          "-keystore",
          store.toString(),
          "-storepass",
          "changeit",
          "-keypass",
          "changeit");
      run(
          keytool,
          "-exportcert",
          "-rfc",
          "-alias",
          "site",
          "-keystore",
          store.toString(),
          "-storepass",
          "changeit",
          "-file",
          pem.toString());
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = new FileInputStream(store.toFile())) {
        ks.load(in, "changeit".toCharArray());
      }
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, "changeit".toCharArray());
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      s.setHttpsConfigurator(new HttpsConfigurator(ctx));
      TlsSite site = new TlsSite(s, pem);
      s.createContext(
          "/",
          ex -> {
            site.requests.add(
                ex.getRequestMethod()
                    + " "
                    + ex.getRequestURI()
                    + " Host="
                    + ex.getRequestHeaders().getFirst("Host"));
            String k = site.key;
            boolean proof = k != null && ex.getRequestURI().getPath().equals("/__presence");
            byte[] body = (proof ? k + "\n" : "not here").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain");
            ex.sendResponseHeaders(proof ? 200 : 404, body.length);
            try (OutputStream out = ex.getResponseBody()) {
              out.write(body);
            }
          });
      s.setExecutor(Executors.newFixedThreadPool(2));
      s.start();
      return site;
    } catch (Exception e) {
      throw new AssertionError("cannot start the HTTPS site", e);
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("keytool failed: " + out);
    }
  }

  /** Serves {@code key} as text/plain at {@code /__presence}. */
  public TlsSite serveKey(String key) {
    this.key = key;
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The PEM certificate to trust. */
  public Path certificatePem() {
    return pem;
  }

  /** Requests received, as {@code METHOD target Host=...}. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
