package org.presence.gateway.webhook;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signatures of a webhook call. {@code X-Presence-Signature: sha256=<hex>}, on every call, is
 * the lower-case hex HMAC-SHA256, keyed with the application's webhook secret (shown in the
 * portal), of the call's {@code X-Presence-Delivery} value (empty for a test call, which has none),
 * a line feed, and the exact request body. The delivery id is signed with the body so that an old
 * call's body cannot be sent again under a newer delivery id (which would move a receiver's cursor
 * past calls still to come).
 *
 * <p>Each part of a snapshot call also carries {@code X-Presence-Snapshot-Signature}, the same HMAC
 * over the delivery id, a line feed, the part's {@code X-Presence-Snapshot} value, a line feed, and
 * the body: the part header is signed so that a captured part cannot be sent again as another part,
 * or as the last (which would tell the receiver that every user the other parts list is offline).
 * It is a header of its own so that receivers written before it keep checking {@code
 * X-Presence-Signature} as they did. The receiver computes the same over what it received and
 * compares in constant time ({@code docs/app-updates.md} shows how).
 */
public final class WebhookSignature {
  /** The header carrying the signature. */
  public static final String HEADER = "X-Presence-Signature";

  /** The header carrying a snapshot part's signature, which covers the part header too. */
  public static final String SNAPSHOT_HEADER = "X-Presence-Snapshot-Signature";

  /** The prefix of the header's value, naming the algorithm. */
  public static final String PREFIX = "sha256=";

  private WebhookSignature() {}

  /**
   * A signature value for the call with delivery id {@code delivery} ({@code ""} for a test call),
   * snapshot part {@code snapshotPart} (its {@code X-Presence-Snapshot} value: {@link
   * #SNAPSHOT_HEADER}'s signature; {@code null}: {@link #HEADER}'s) and {@code body}, signed with
   * {@code secret}.
   */
  public static String sign(String secret, String delivery, String snapshotPart, byte[] body) {
    return PREFIX + HexFormat.of().formatHex(mac(secret, delivery, snapshotPart, body));
  }

  /** {@link #HEADER}'s value: {@link #sign(String, String, String, byte[])} without a part. */
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

  /** Whether {@code header} is {@link #HEADER}'s value for the call (no part signed). */
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
