package org.presence.gateway.xmpp;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * A self-signed certificate for the embedded default's STARTTLS, made in memory at start: an EC
 * P-256 key and an X.509 v3 certificate (subject {@code CN=<domain>}, the domain as its DNS name,
 * valid for a year), DER-encoded here with the JDK's own key generation and signature (no
 * BouncyCastle, no {@code keytool} process). Clients of the embedded default trust it explicitly.
 */
final class SelfSignedCertificate {
  private static final byte[] ECDSA_SHA256 = {0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 4, 3, 2};
  private static final byte[] COMMON_NAME = {0x55, 4, 3};
  private static final byte[] SUBJECT_ALT_NAME = {0x55, 0x1D, 0x11};
  private static final DateTimeFormatter UTC_TIME =
      DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'", java.util.Locale.ROOT)
          .withZone(ZoneOffset.UTC);

  final KeyPair keys;
  final X509Certificate certificate;

  private SelfSignedCertificate(KeyPair keys, X509Certificate certificate) {
    this.keys = keys;
    this.certificate = certificate;
  }

  static SelfSignedCertificate create(String domain) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair keys = g.generateKeyPair();
      byte[] algorithm = der(0x30, der(0x06, ECDSA_SHA256));
      byte[] name =
          der(
              0x30,
              der(
                  0x31,
                  der(
                      0x30,
                      der(0x06, COMMON_NAME),
                      der(0x0C, domain.getBytes(StandardCharsets.UTF_8)))));
      Instant now = Instant.now();
      byte[] validity =
          der(
              0x30,
              der(
                  0x17,
                  UTC_TIME
                      .format(now.minus(Duration.ofHours(1)))
                      .getBytes(StandardCharsets.US_ASCII)),
              der(
                  0x17,
                  UTC_TIME
                      .format(now.plus(Duration.ofDays(365)))
                      .getBytes(StandardCharsets.US_ASCII)));
      byte[] san =
          der(
              0x30,
              der(0x06, SUBJECT_ALT_NAME),
              der(0x04, der(0x30, der(0x82, domain.getBytes(StandardCharsets.US_ASCII)))));
      byte[] serial = new BigInteger(63, new SecureRandom()).add(BigInteger.ONE).toByteArray();
      byte[] tbs =
          der(
              0x30,
              der(0xA0, der(0x02, new byte[] {2})),
              der(0x02, serial),
              algorithm,
              name,
              validity,
              name,
              keys.getPublic().getEncoded(),
              der(0xA3, der(0x30, san)));
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initSign(keys.getPrivate());
      s.update(tbs);
      byte[] sig = s.sign();
      byte[] bits = new byte[sig.length + 1];
      System.arraycopy(sig, 0, bits, 1, sig.length);
      byte[] cert = der(0x30, tbs, algorithm, der(0x03, bits));
      X509Certificate x509 =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(cert));
      return new SelfSignedCertificate(keys, x509);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make a self-signed certificate: " + e, e);
    }
  }

  /** A DER tag-length-value of {@code parts} concatenated. */
  private static byte[] der(int tag, byte[]... parts) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      content.writeBytes(p);
    }
    int n = content.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream(n + 6);
    out.write(tag);
    if (n < 0x80) {
      out.write(n);
    } else if (n < 0x100) {
      out.write(0x81);
      out.write(n);
    } else if (n < 0x10000) {
      out.write(0x82);
      out.write(n >> 8);
      out.write(n);
    } else {
      out.write(0x83);
      out.write(n >> 16);
      out.write(n >> 8);
      out.write(n);
    }
    out.writeBytes(content.toByteArray());
    return out.toByteArray();
  }
}
