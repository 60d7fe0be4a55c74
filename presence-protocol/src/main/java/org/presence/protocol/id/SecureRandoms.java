package org.presence.protocol.id;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.UUID;

/**
 * Unguessable random numbers (session ids, API keys, PUIDs, notification ids, anti-forgery tokens)
 * without a system call per draw and without one lock shared by every thread.
 *
 * <p>The JDK's default {@code SecureRandom} on Linux ({@code NativePRNG}) reads {@code
 * /dev/urandom} on every draw, under one lock: file I/O on a Netty event loop for each connect.
 * Here one DRBG is seeded from the operating system once, when this class is loaded (call {@link
 * #init} at start-up so that happens off the event loops), and each thread draws from its own
 * {@code SHA1PRNG}, seeded with 256 bits from that DRBG before its first use (a {@code SHA1PRNG}
 * seeded before its first draw uses that seed alone and never reads the system again).
 */
public final class SecureRandoms {
  private static final SecureRandom ROOT = root();
  private static final ThreadLocal<SecureRandom> LOCAL =
      ThreadLocal.withInitial(SecureRandoms::child);

  private SecureRandoms() {}

  /** Loads the class, seeding the process-wide generator from the operating system now. */
  public static void init() {
    // The static initialiser did the work.
  }

  /** This thread's generator; never share it with another thread. */
  public static SecureRandom current() {
    return LOCAL.get();
  }

  /** A random (version 4) UUID, as {@link UUID#randomUUID} but from this thread's generator. */
  public static UUID uuid() {
    byte[] b = new byte[16];
    current().nextBytes(b);
    b[6] = (byte) ((b[6] & 0x0f) | 0x40); // version 4
    b[8] = (byte) ((b[8] & 0x3f) | 0x80); // IETF variant
    long msb = 0;
    long lsb = 0;
    for (int i = 0; i < 8; i++) {
      msb = (msb << 8) | (b[i] & 0xff);
      lsb = (lsb << 8) | (b[i + 8] & 0xff);
    }
    return new UUID(msb, lsb);
  }

  private static SecureRandom root() {
    SecureRandom r;
    try {
      r = SecureRandom.getInstance("DRBG");
    } catch (NoSuchAlgorithmException e) {
      r = new SecureRandom();
    }
    // A DRBG instantiates (reads its seed) on first use: do it now.
    r.nextBytes(new byte[1]);
    return r;
  }

  private static SecureRandom child() {
    byte[] seed = new byte[32];
    synchronized (ROOT) {
      ROOT.nextBytes(seed);
    }
    try {
      SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
      r.setSeed(seed);
      return r;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA1PRNG in this JDK", e);
    }
  }
}
