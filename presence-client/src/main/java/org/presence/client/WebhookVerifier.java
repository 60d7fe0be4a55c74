package org.presence.client;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks the webhook calls of Presence (docs/app-updates.md#webhooks): {@code X-Presence-Signature:
 * sha256=<hex>} is the HMAC-SHA256, with the application's webhook secret, of the call's {@code
 * X-Presence-Delivery} value (empty for a test call), a line feed and the exact body bytes,
 * compared here in constant time. Verify the raw bytes before parsing them.
 *
 * <p>A call can be repeated (a lost answer, a node stopping mid-call); a call's {@code
 * X-Presence-Delivery} names the updates it covers, so {@link Delivery#isNewerThan(long)} drops a
 * repeat, and a replay of an old call, by its last {@code seq}: the delivery id is signed with the
 * body, so an old body cannot come under a newer id. The signature covers no timestamp, so the
 * delivery's numbers (not the clock) are what tells an old call from a new one.
 *
 * <p>A snapshot call ({@link Delivery#isSnapshot()}, delivery id {@code <appid>:0-<seq>}) comes in
 * parts, one call after the other, each with the same delivery id and {@code X-Presence-Snapshot}
 * ({@link SnapshotPart#parse}): part 1 starts a snapshot (drop any partial one), and once the last
 * part came, a user listed in none of the parts is offline. Check each part's {@code
 * X-Presence-Snapshot-Signature} too ({@link #verifySnapshotPart}), and refuse a snapshot call
 * without it: it is the signature that covers the part header, without which a captured part could
 * be sent again as another part or as the last.
 */
public final class WebhookVerifier {
  /** The header carrying the signature. */
  public static final String SIGNATURE_HEADER = "X-Presence-Signature";

  /** The header naming the updates a call covers: {@code <appid>:<first seq>-<last seq>}. */
  public static final String DELIVERY_HEADER = "X-Presence-Delivery";

  /** The header of a snapshot call's part: {@code part=<n>}, or {@code part=<n>; last}. */
  public static final String SNAPSHOT_HEADER = "X-Presence-Snapshot";

  /** The header of a snapshot part's signature, which covers {@link #SNAPSHOT_HEADER} too. */
  public static final String SNAPSHOT_SIGNATURE_HEADER = "X-Presence-Snapshot-Signature";

  private static final String PREFIX = "sha256=";

  private final byte[] secret;

  /** A verifier for the application's {@code webhook_secret}. */
  public WebhookVerifier(String secret) {
    if (secret == null || secret.isEmpty()) {
      throw new IllegalArgumentException("a webhook secret is required");
    }
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Whether {@code signatureHeader} ({@code X-Presence-Signature}) is the signature of the call
   * with {@code deliveryHeader} (its {@code X-Presence-Delivery}; {@code null} for a test call,
   * which has none) and {@code body}. Compares SHA-256-sized digests in constant time whatever the
   * header holds, so timing tells nothing about the expected value.
   */
  public boolean verify(byte[] body, String signatureHeader, String deliveryHeader) {
    return matches(signatureHeader, deliveryHeader, null, body);
  }

  /**
   * Whether {@code snapshotSignatureHeader} ({@code X-Presence-Snapshot-Signature}) is the
   * signature of the snapshot part with {@code deliveryHeader}, {@code snapshotHeader} (its {@code
   * X-Presence-Snapshot}) and {@code body}: false when either header is missing. A part does not
   * verify under another part's header (a captured part sent again as the last one would tell the
   * receiver that every user the other parts list is offline).
   */
  public boolean verifySnapshotPart(
      byte[] body, String snapshotSignatureHeader, String deliveryHeader, String snapshotHeader) {
    return snapshotHeader != null
        && matches(snapshotSignatureHeader, deliveryHeader, snapshotHeader.trim(), body);
  }

  private boolean matches(String header, String deliveryHeader, String part, byte[] body) {
    Objects.requireNonNull(body, "body");
    String delivery = deliveryHeader == null ? "" : deliveryHeader.trim();
    byte[] expected =
        (PREFIX + HexFormat.of().formatHex(mac(delivery, part, body)))
            .getBytes(StandardCharsets.US_ASCII);
    byte[] given = (header == null ? "" : header.trim()).getBytes(StandardCharsets.US_ASCII);
    return MessageDigest.isEqual(expected, given);
  }

  private byte[] mac(String delivery, String part, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(delivery.getBytes(StandardCharsets.UTF_8));
      mac.update((byte) '\n');
      if (part != null) {
        mac.update(part.getBytes(StandardCharsets.UTF_8));
        mac.update((byte) '\n');
      }
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /**
   * What a call covers: application {@code appId}'s updates {@code firstSeq} to {@code lastSeq}.
   */
  public record Delivery(long appId, long firstSeq, long lastSeq) {
    /** Parses {@code X-Presence-Delivery}; {@link IllegalArgumentException} when it is not one. */
    public static Delivery parse(String header) {
      if (header == null) {
        throw new IllegalArgumentException("no delivery header");
      }
      int colon = header.indexOf(':');
      int dash = header.indexOf('-', colon + 1);
      if (colon <= 0 || dash <= colon + 1) {
        throw new IllegalArgumentException("not a delivery id: " + header);
      }
      try {
        return new Delivery(
            Long.parseLong(header.substring(0, colon).trim()),
            Long.parseLong(header.substring(colon + 1, dash)),
            Long.parseLong(header.substring(dash + 1).trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a delivery id: " + header, e);
      }
    }

    /** Whether this call brings anything after {@code lastSeenSeq} (a repeat does not). */
    public boolean isNewerThan(long lastSeenSeq) {
      return lastSeq > lastSeenSeq;
    }

    /**
     * Whether this is (a part of) a snapshot call, first {@code seq} 0: take it whatever {@code
     * seq} you saw last; with its last part, {@link #lastSeq} becomes the last one seen.
     */
    public boolean isSnapshot() {
      return firstSeq == 0;
    }
  }

  /**
   * A snapshot call's part.
   *
   * @param part its number, from 1
   * @param last whether it ends the snapshot
   */
  public record SnapshotPart(int part, boolean last) {
    /** The whole snapshot in one call, as a node before snapshot parts sends it. */
    public static final SnapshotPart WHOLE = new SnapshotPart(1, true);

    /**
     * Parses a snapshot call's {@code X-Presence-Snapshot}, {@code part=<n>} or {@code part=<n>;
     * last}; {@link #WHOLE} when it is absent (a node before snapshot parts, whose snapshot {@link
     * WebhookVerifier#verifySnapshotPart} refuses, as it has no part signature); {@link
     * IllegalArgumentException} when it is not one.
     */
    public static SnapshotPart parse(String header) {
      if (header == null) {
        return WHOLE;
      }
      String[] fields = header.split(";", -1);
      String number = fields[0].trim();
      boolean last = fields.length == 2 && fields[1].trim().equals("last");
      if (!number.startsWith("part=") || fields.length > 2 || (fields.length == 2 && !last)) {
        throw new IllegalArgumentException("not a snapshot part: " + header);
      }
      try {
        int n = Integer.parseInt(number.substring("part=".length()));
        if (n < 1 || !number.substring("part=".length()).chars().allMatch(Character::isDigit)) {
          throw new IllegalArgumentException("not a snapshot part: " + header);
        }
        return new SnapshotPart(n, last);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a snapshot part: " + header, e);
      }
    }
  }

  /** A webhook body's pair: a user's PUID and their latest status. */
  public record Change(String uid, PresenceStatus status) {}

  /** Parses a verified body, {@code [["<puid>","away"], ...]}. */
  public static List<Change> changes(byte[] body) {
    List<Object> pairs = ClientJson.list(ClientJson.read(new String(body, StandardCharsets.UTF_8)));
    if (pairs == null) {
      throw new PresenceException(10, 0, "A webhook body is a list of pairs");
    }
    List<Change> out = new ArrayList<>();
    for (Object p : pairs) {
      List<String> pair = ClientJson.strings(p);
      PresenceStatus s = pair.size() == 2 ? PresenceStatus.fromWire(pair.get(1)) : null;
      if (s == null) {
        throw new PresenceException(10, 0, "Not a [puid, status] pair: " + p);
      }
      out.add(new Change(pair.get(0), s));
    }
    return out;
  }
}
