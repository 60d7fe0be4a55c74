package org.presence.gateway.testing;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A certificate authority for TLS tests, made with the {@code openssl} command (no BouncyCastle):
 * an EC P-256 CA, and server certificates it signs for {@code 127.0.0.1} and {@code localhost}, as
 * PEM files (the key PKCS#8). {@link #sslContext()} trusts the CA for the JDK's clients; {@link
 * #caFile()} is for {@code openssl s_client} and {@code curl}.
 */
public final class TestCa {
  private final Path dir;
  private final Path caCert;
  private final Path caKey;
  private int issued;

  private TestCa(Path dir) {
    this.dir = dir;
    this.caCert = dir.resolve("ca.pem");
    this.caKey = dir.resolve("ca.key");
  }

  /** A new CA with its files in {@code dir}. */
  public static TestCa create(Path dir) {
    TestCa ca = new TestCa(dir);
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        ca.caKey.toString(),
        "-out",
        ca.caCert.toString(),
        "-days",
        "2",
        "-subj",
        "/CN=Presence Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign");
    return ca;
  }

  /** The CA's certificate (PEM). */
  public Path caFile() {
    return caCert;
  }

  /**
   * Issues a server certificate with common name {@code name} for 127.0.0.1 and localhost: writes
   * the chain to {@code cert} and the key to {@code key} (replacing them, as a deployment would),
   * and returns them.
   */
  public Path[] issue(String name, Path cert, Path key) {
    int n = ++issued;
    Path csr = dir.resolve("leaf-" + n + ".csr");
    Path ext = dir.resolve("leaf-" + n + ".ext");
    Path newKey = dir.resolve("leaf-" + n + ".key");
    Path newCert = dir.resolve("leaf-" + n + ".pem");
    try {
      Files.writeString(
          ext,
          "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
              + "extendedKeyUsage=serverAuth\n"
              + "basicConstraints=CA:FALSE\n");
      run(
          "openssl",
          "req",
          "-new",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          newKey.toString(),
          "-out",
          csr.toString(),
          "-subj",
          "/CN=" + name);
      run(
          "openssl",
          "x509",
          "-req",
          "-in",
          csr.toString(),
          "-CA",
          caCert.toString(),
          "-CAkey",
          caKey.toString(),
          "-set_serial",
          String.valueOf(1000 + n),
          "-days",
          "2",
          "-sha256",
          "-extfile",
          ext.toString(),
          "-out",
          newCert.toString());
      // Written whole, then moved into place: a reload never reads half a file.
      Files.move(newCert, cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.move(newKey, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return new Path[] {cert, key};
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A client context that trusts this CA only. */
  public SSLContext sslContext() {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry(
          "ca",
          CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(caCert))));
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new AssertionError("cannot trust the test CA", e);
    }
  }

  /** The result of a command: its exit status and everything it printed. */
  public record Result(int exit, String output) {}

  /**
   * Runs {@code command} with nothing on its standard input, for at most 30 seconds, and returns
   * its status and output (stdout and stderr together).
   */
  public static Result exec(String... command) {
    try {
      Process p =
          new ProcessBuilder(new ArrayList<>(List.of(command)))
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + String.join(" ", command));
      }
      return new Result(
          p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      throw new AssertionError("cannot run " + command[0], e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static void run(String... command) {
    Result r = exec(command);
    if (r.exit() != 0) {
      throw new AssertionError(String.join(" ", command) + " failed: " + r.output());
    }
  }
}
