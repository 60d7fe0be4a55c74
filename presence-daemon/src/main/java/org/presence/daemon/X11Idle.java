package org.presence.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Idle time from the X11 screensaver extension (MIT-SCREEN-SAVER's {@code ms_since_user_input}),
 * read with Debian's {@code xprintidle} on {@code $DISPLAY}: for sessions whose desktop sets no
 * logind idle hint. Without a display, or without {@code xprintidle}, it cannot tell ({@code
 * null}).
 */
public final class X11Idle implements IdleSource {
  private static final long TIMEOUT_MS = 5_000;

  private final List<String> command;
  private final Map<String, String> env;
  private boolean missing;

  /** {@code xprintidle} on {@code display} (a {@code $DISPLAY} value). */
  public X11Idle(String display) {
    this(List.of("xprintidle"), Map.of("DISPLAY", display));
  }

  X11Idle(List<String> command, Map<String, String> env) {
    this.command = command;
    this.env = env;
  }

  /** The idle time in {@code xprintidle}'s output (milliseconds), or {@code null}. */
  static Duration parse(String output) {
    String s = output.strip();
    if (!s.matches("[0-9]{1,18}")) {
      return null;
    }
    return Duration.ofMillis(Long.parseLong(s));
  }

  @Override
  public Duration idle() throws IOException {
    if (missing) {
      return null;
    }
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      missing = true;
      throw new IOException("cannot run " + command.get(0) + " (install xprintidle)", e);
    }
    try (InputStream in = p.getInputStream()) {
      // Its output is one short line, which the pipe holds until it is read.
      if (!p.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(command.get(0) + " did not answer");
      }
      byte[] out = in.readNBytes(64);
      return p.exitValue() == 0 ? parse(new String(out, StandardCharsets.US_ASCII)) : null;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
