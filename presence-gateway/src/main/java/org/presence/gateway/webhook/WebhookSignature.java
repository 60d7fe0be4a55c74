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
 * HMAC-SHA256, keyed with the application's webhook secret (shown in the portal), of the call's
 * {@code X-Presence-Delivery} value (empty for a test call, which has none), a line feed, then, for
 * a snapshot call's part only, its {@code X-Presence-Snapshot} value and a line feed, and the exact
 * request body. The delivery id is signed with the body so that an old call's body cannot be sent
 * again under a newer delivery id (which would move a receiver's cursor past calls still to come);
 * the part with it so that a captured part cannot be sent again as another part, or as the last
 * (which would tell the receiver that every user the other parts list is offline). The receiver
 * computes the same over what it received and compares in constant time ({@code
 * docs/app-updates.md} shows how).
 */
public final class WebhookSignature {
  /** The header carrying the signature. */
  public static final String HEADER = "X-Presence-Signature";

  /** The prefix of the header's value, naming the algorithm. */
  public static final String PREFIX = "sha256=";

  private WebhookSignature() {}

  /**
   * The header value for the call with delivery id {@code delivery} ({@code ""} for a test call),
   * snapshot part {@code snapshotPart} (its {@code X-Presence-Snapshot} value; {@code null} for a
   * call that is not a snapshot's part) and {@code body}, signed with {@code secret}.
   */
  public static String sign(String secret, String delivery, String snapshotPart, byte[] body) {
    return PREFIX + HexFormat.of().formatHex(mac(secret, delivery, snapshotPart, body));
  }

  /** {@link #sign(String, String, String, byte[])} of a call that is not a snapshot's part. */
  public static String sign(String secret, String delivery, byte[] body) {
    return sign(secret, delivery, null, body);
  }

  /**
   * Whether {@code header} is the signature of the call with delivery id {@code delivery} ({@code
   * null} or {@code ""}: none), {@code X-Presence-Snapshot} value {@code snapshotPart} ({@code
   * null}: none) and {@code body}, with {@code secret}.
   */
  public static boolean verify(
      String secret, String delivery, String snapshotPart, byte[] body, String header) {
    if (header == null) {
      return false;
    }
    byte[] expected =
        sign(
                secret,
                delivery == null ? "" : delivery.trim(),
                snapshotPart == null ? null : snapshotPart.trim(),
                body)
            .getBytes(StandardCharsets.US_ASCII);
    return MessageDigest.isEqual(expected, header.trim().getBytes(StandardCharsets.US_ASCII));
  }

  /** {@link #verify(String, String, String, byte[], String)} of a call without a snapshot part. */
  public static boolean verify(String secret, String delivery, byte[] body, String header) {
    return verify(secret, delivery, null, body, header);
  }

  private static byte[] mac(String secret, String delivery, String snapshotPart, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update(delivery.getBytes(StandardCharsets.UTF_8));
      mac.update((byte) '\n');
      if (snapshotPart != null) {
        mac.update(snapshotPart.getBytes(StandardCharsets.UTF_8));
        mac.update((byte) '\n');
      }
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
