package org.presence.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/**
 * Where the daemon keeps what it must remember, following the XDG Base Directory Specification: its
 * state (the device id, the paired device's refresh token) in {@code $XDG_STATE_HOME/presence}
 * (default {@code ~/.local/state/presence}) and its configuration ({@code daemon.properties}) in
 * {@code $XDG_CONFIG_HOME/presence} (default {@code ~/.config/presence}). Directories it creates
 * are mode 0700, files it writes 0600.
 */
public final class XdgState {
  /** The device id's file in the state directory. */
  public static final String DEVICE_ID_FILE = "device-id";

  private static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

  private final Path stateDir;
  private final Path configDir;

  private XdgState(Path stateDir, Path configDir) {
    this.stateDir = stateDir;
    this.configDir = configDir;
  }

  /** The directories for the environment {@code env} ({@code HOME}, {@code XDG_*}). */
  public static XdgState of(Map<String, String> env) {
    return new XdgState(
        base(env, "XDG_STATE_HOME", ".local/state").resolve("presence"),
        base(env, "XDG_CONFIG_HOME", ".config").resolve("presence"));
  }

  private static Path base(Map<String, String> env, String variable, String underHome) {
    String v = env.get(variable);
    // The specification: a relative path is invalid and is ignored.
    if (v != null && !v.isEmpty() && Path.of(v).isAbsolute()) {
      return Path.of(v);
    }
    String home = env.get("HOME");
    if (home == null || home.isEmpty()) {
      throw new IllegalStateException("neither $" + variable + " nor $HOME is set");
    }
    return Path.of(home).resolve(underHome);
  }

  public Path stateDir() {
    return stateDir;
  }

  public Path configDir() {
    return configDir;
  }

  /** The state directory, created (0700) when missing. */
  public Path createStateDir() throws IOException {
    createPrivateDir(stateDir);
    return stateDir;
  }

  /** {@code dir} and its missing parents; {@code dir} itself is made 0700. */
  static void createPrivateDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    try {
      Files.setPosixFilePermissions(dir, DIR);
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system.
    }
  }

  /**
   * This machine's device id for Presence: read from {@value #DEVICE_ID_FILE}, or made up ({@code
   * desktop-} and 12 random hex digits) and kept there on the first run.
   */
  public String deviceId() throws IOException {
    Path file = stateDir.resolve(DEVICE_ID_FILE);
    try {
      String id = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (id.matches("[A-Za-z0-9._:-]{1,64}")) {
        return id;
      }
    } catch (NoSuchFileException e) {
      // The first run.
    }
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    String id = "desktop-" + HexFormat.of().formatHex(random);
    writePrivate(file, id + "\n");
    return id;
  }

  /** Writes {@code text} to {@code file} atomically, readable and writable by its owner only. */
  public static void writePrivate(Path file, String text) throws IOException {
    createPrivateDir(file.getParent());
    Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
    try {
      try {
        Files.setPosixFilePermissions(tmp, FILE);
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system: the directory's own permissions protect the file.
      }
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
