package org.presence.gateway.app;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.presence.protocol.id.SecureRandoms;
import org.presence.protocol.id.Sha256;

/**
 * The application secrets of wiki section 2: the 1024-character domain verification key and API
 * key, and the webhook signing secret. Keys are letters and digits (about 5.95 bits each, so some
 * 6,100 bits), safe in a URL, a header, a JSON string or a text file. Only the SHA-256 of an API
 * key is stored; a presented key is hashed and compared in constant time.
 */
public final class Secrets {
  /** Length of the verification key and the API key (wiki: "a string of 1024 chars"). */
  public static final int KEY_LENGTH = 1024;

  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

  private Secrets() {}

  /** A fresh 1024-character key. */
  public static String newKey() {
    return random(KEY_LENGTH);
  }

  /** A fresh webhook signing secret: 64 characters (about 380 bits). */
  public static String newWebhookSecret() {
    return random(64);
  }

  private static String random(int length) {
    SecureRandom random = SecureRandoms.current();
    char[] out = new char[length];
    for (int i = 0; i < length; i++) {
      // nextInt(bound) is uniform: no modulo bias toward the first characters.
      out[i] = ALPHABET[random.nextInt(ALPHABET.length)];
    }
    return new String(out);
  }

  /** Lower-case hex SHA-256 of {@code key}'s UTF-8 bytes: what the database keeps. */
  public static String hash(String key) {
    return HexFormat.of().formatHex(sha256(key));
  }

  /**
   * Whether {@code presented} is the key whose hash is {@code storedHash}. The presented key is
   * hashed first, so the comparison always covers 32 bytes and takes the same time wherever the two
   * differ.
   */
  public static boolean matches(String presented, String storedHash) {
    if (presented == null || storedHash == null || storedHash.length() != 64) {
      return false;
    }
    byte[] stored;
    try {
      stored = HexFormat.of().parseHex(storedHash);
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(sha256(presented), stored);
  }

  /** Constant-time equality of two strings (the domain proof compares the fetched key this way). */
  public static boolean equalsConstantTime(String a, String b) {
    return MessageDigest.isEqual(sha256(a), sha256(b));
  }

  /** The SHA-256 of {@code s}'s UTF-8 bytes (32 bytes whatever its length). */
  public static byte[] sha256(String s) {
    return Sha256.of(s);
  }
}
