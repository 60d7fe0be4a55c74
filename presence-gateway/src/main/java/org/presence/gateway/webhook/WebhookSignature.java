package org.presence.gateway.webhook;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signature of a webhook call: {@code X-Presence-Signature: sha256=<hex>}, the lower-case hex
 * HMAC-SHA256 of the exact request body with the application's webhook secret (shown in the portal)
 * as the key. The receiver computes the same over the bytes it received and compares in constant
 * time ({@code docs/app-updates.md} shows how).
 */
public final class WebhookSignature {
  /** The header carrying the signature. */
  public static final String HEADER = "X-Presence-Signature";

  /** The prefix of the header's value, naming the algorithm. */
  public static final String PREFIX = "sha256=";

  private WebhookSignature() {}

  /** The header value for {@code body} signed with {@code secret}. */
  public static String sign(String secret, byte[] body) {
    return PREFIX + HexFormat.of().formatHex(mac(secret, body));
  }

  /** Whether {@code header} is the signature of {@code body} with {@code secret}. */
  public static boolean verify(String secret, byte[] body, String header) {
    if (header == null) {
      return false;
    }
    byte[] expected = sign(secret, body).getBytes(StandardCharsets.US_ASCII);
    return MessageDigest.isEqual(expected, header.trim().getBytes(StandardCharsets.US_ASCII));
  }

  private static byte[] mac(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
