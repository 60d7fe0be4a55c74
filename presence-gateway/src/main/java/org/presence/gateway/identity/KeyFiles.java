package org.presence.gateway.identity;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Key files the node makes in its data directory on first use ({@code dev-identity.jwk}, {@code
 * web-session.key}): written once, readable by the owner only, and never replaced, so that
 * processes starting on one data directory at once (a node and a {@code dev-token}, two nodes) all
 * end up with the one key that is on file.
 */
public final class KeyFiles {
  private KeyFiles() {}

  /**
   * Writes {@code content} to {@code file} unless it exists. The content goes to a temporary file
   * first and is then hard-linked under its name, which fails if another process made the file
   * meanwhile (a rename would replace theirs): the caller then reads theirs.
   */
  public static void createOnce(Path file, String content, Charset charset) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    try {
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system: the data directory's own permissions protect the key.
      }
      Files.writeString(tmp, content, charset);
      try {
        Files.createLink(file, tmp);
      } catch (UnsupportedOperationException e) {
        // No hard links here: a move that refuses an existing file (checked just before it).
        Files.move(tmp, file);
      }
    } catch (FileAlreadyExistsException e) {
      // Another process made the key first; theirs is the one.
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
