package org.presence.store.db;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import org.h2.store.fs.FileBase;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * An H2 file system ({@code failing:} before a path) over the disk whose files under one directory
 * fail every write and truncation with "No space left on device" while told to: a full disk, as H2
 * meets it, without filling one. Public, with a public constructor: H2 makes its instances.
 */
public final class FailingFileSystem extends FilePathWrapper {
  private static final String SCHEME = "failing";

  private static volatile String failingUnder;

  static {
    FilePath.register(new FailingFileSystem());
  }

  /** The scheme to open the embedded database with, registered with H2 before it is answered. */
  static String scheme() {
    return SCHEME;
  }

  public FailingFileSystem() {}

  /** Makes writes to files under {@code dir} fail from now on ({@code null}: none fail). */
  static void failWritesUnder(Path dir) {
    failingUnder = dir == null ? null : dir.toAbsolutePath().toString();
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FileChannel open(String mode) throws IOException {
    FileChannel base = getBase().open(mode);
    String file = getBase().toString();
    return new FileBase() {
      private void check() throws IOException {
        String under = failingUnder;
        if (under != null && file.startsWith(under)) {
          throw new IOException("No space left on device");
        }
      }

      @Override
      public long position() throws IOException {
        return base.position();
      }

      @Override
      public FileChannel position(long p) throws IOException {
        base.position(p);
        return this;
      }

      @Override
      public long size() throws IOException {
        return base.size();
      }

      @Override
      public int read(ByteBuffer dst) throws IOException {
        return base.read(dst);
      }

      @Override
      public int read(ByteBuffer dst, long position) throws IOException {
        return base.read(dst, position);
      }

      @Override
      public int write(ByteBuffer src) throws IOException {
        check();
        return base.write(src);
      }

      @Override
      public int write(ByteBuffer src, long position) throws IOException {
        check();
        return base.write(src, position);
      }

      @Override
      public FileChannel truncate(long size) throws IOException {
        check();
        base.truncate(size);
        return this;
      }

      @Override
      public void force(boolean metaData) throws IOException {
        base.force(metaData);
      }

      @Override
      public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return base.tryLock(position, size, shared);
      }

      @Override
      protected void implCloseChannel() throws IOException {
        base.close();
      }
    };
  }
}
