package org.presence.gateway.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.presence.protocol.id.SecureRandoms;

/**
 * A certificate chain and its private key read from PEM files ({@code tls.cert}, {@code tls.key})
 * and made into a server {@link SslContext} under {@link TlsPolicy}, after checking that the key is
 * the certificate's (a signature made with it verifies with the certificate's public key). Keeps
 * the bytes it was made from, so a reload can tell whether the files changed.
 */
final class CertificateFiles {
  private static final Pattern PRIVATE_KEY =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  final byte[] certBytes;
  final byte[] keyBytes;
  final SslContext context;
  final X509Certificate certificate;

  private CertificateFiles(
      byte[] certBytes, byte[] keyBytes, SslContext context, X509Certificate certificate) {
    this.certBytes = certBytes;
    this.keyBytes = keyBytes;
    this.context = context;
    this.certificate = certificate;
  }

  /** Why a pair of files cannot be used, naming the setting at fault. */
  static final class BadFiles extends Exception {
    final String setting;

    BadFiles(String setting, String message) {
      super(message);
      this.setting = setting;
    }

    BadFiles(String setting, String message, Throwable cause) {
      super(message, cause);
      this.setting = setting;
    }
  }

  /** Reads both files. */
  static byte[][] read(Path cert, Path key) throws BadFiles {
    return new byte[][] {readFile("tls.cert", cert), readFile("tls.key", key)};
  }

  /** Whether {@code files} (from {@link #read}) are the bytes this pair was made from. */
  boolean sameAs(byte[][] files) {
    return Arrays.equals(certBytes, files[0]) && Arrays.equals(keyBytes, files[1]);
  }

  /** Makes the context from the bytes of both files. */
  static CertificateFiles load(byte[] certBytes, byte[] keyBytes) throws BadFiles {
    X509Certificate[] chain = certificates(certBytes);
    PrivateKey key = privateKey(keyBytes, chain[0].getPublicKey());
    checkPair(key, chain[0].getPublicKey());
    try {
      SslContext context = TlsPolicy.apply(SslContextBuilder.forServer(key, chain)).build();
      return new CertificateFiles(certBytes, keyBytes, context, chain[0]);
    } catch (Exception e) {
      throw new BadFiles("tls.cert", "cannot make a TLS context: " + e.getMessage(), e);
    }
  }

  /** When the node's certificate expires. */
  Instant notAfter() {
    return certificate.getNotAfter().toInstant();
  }

  private static byte[] readFile(String setting, Path file) throws BadFiles {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new BadFiles(setting, "cannot read " + file + ": no such file", e);
    } catch (IOException e) {
      throw new BadFiles(setting, "cannot read " + file + ": " + e, e);
    }
  }

  private static X509Certificate[] certificates(byte[] pem) throws BadFiles {
    try {
      X509Certificate[] chain =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem))
              .toArray(new X509Certificate[0]);
      if (chain.length == 0) {
        throw new BadFiles("tls.cert", "no certificate in the file (expected PEM)");
      }
      return chain;
    } catch (CertificateException e) {
      throw new BadFiles("tls.cert", "not a PEM certificate chain: " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(byte[] pem, PublicKey certificateKey) throws BadFiles {
    String text = new String(pem, StandardCharsets.US_ASCII);
    Matcher m = PRIVATE_KEY.matcher(text);
    if (!m.find()) {
      if (text.contains("BEGIN ENCRYPTED PRIVATE KEY")) {
        throw new BadFiles(
            "tls.key",
            "an encrypted key; give the node an unencrypted PKCS#8 key"
                + " (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem)");
      }
      if (text.matches("(?s).*-----BEGIN [A-Z]+ PRIVATE KEY-----.*")) {
        throw new BadFiles(
            "tls.key",
            "not a PKCS#8 key (BEGIN PRIVATE KEY); convert it with"
                + " openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem");
      }
      throw new BadFiles("tls.key", "no PEM private key (BEGIN PRIVATE KEY) in the file");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(1).strip());
    } catch (IllegalArgumentException e) {
      throw new BadFiles("tls.key", "the PEM private key is not valid base64", e);
    }
    try {
      return KeyFactory.getInstance(certificateKey.getAlgorithm())
          .generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new BadFiles(
          "tls.key",
          "not a "
              + certificateKey.getAlgorithm()
              + " private key, as tls.cert's certificate needs: "
              + e.getMessage(),
          e);
    }
  }

  private static void checkPair(PrivateKey key, PublicKey certificateKey) throws BadFiles {
    String algorithm =
        switch (certificateKey.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
          default -> null;
        };
    if (algorithm == null) {
      throw new BadFiles(
          "tls.cert",
          "a " + certificateKey.getAlgorithm() + " certificate; use an RSA, EC or EdDSA one");
    }
    try {
      byte[] challenge = new byte[32];
      SecureRandoms.current().nextBytes(challenge);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificateKey);
      verifier.update(challenge);
      if (!verifier.verify(signature)) {
        throw new BadFiles("tls.key", "the key is not the one of tls.cert's first certificate");
      }
    } catch (GeneralSecurityException e) {
      throw new BadFiles(
          "tls.key", "the key is not the one of tls.cert's first certificate: " + e, e);
    }
  }
}
