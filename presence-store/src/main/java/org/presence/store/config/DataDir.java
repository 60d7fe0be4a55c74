package org.presence.store.config;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The node's data directory is its owner's alone: the embedded database and the notification
 * journal hold webhook secrets and the mapping of users to PUIDs. The directory is kept at mode
 * 0700 and the files in it at 0600, on file systems with POSIX permissions (elsewhere these are
 * no-ops).
 */
public final class DataDir {
  /** {@code rwx------}. */
  public static final Set<PosixFilePermission> DIRECTORY_MODE =
      PosixFilePermissions.fromString("rwx------");

  /** {@code rw-------}. */
  public static final Set<PosixFilePermission> FILE_MODE =
      PosixFilePermissions.fromString("rw-------");

  private DataDir() {}

  /**
   * Creates {@code dir} if needed, sets it to 0700 and every regular file directly in it to 0600
   * (files of an earlier run, or just created by a library such as H2).
   */
  public static void secure(Path dir) throws IOException {
    Files.createDirectories(dir);
    if (!posix(dir)) {
      return;
    }
    Files.setPosixFilePermissions(dir, DIRECTORY_MODE);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          Files.setPosixFilePermissions(f, FILE_MODE);
        }
      }
    }
  }

  /** The attributes a new file in {@code dir} is created with: mode 0600 where POSIX. */
  public static FileAttribute<?>[] privateFile(Path dir) {
    return posix(dir)
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE_MODE)}
        : new FileAttribute<?>[0];
  }

  private static boolean posix(Path p) {
    return Files.getFileAttributeView(p, PosixFileAttributeView.class) != null;
  }
}
