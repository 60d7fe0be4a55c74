package org.presence.loadtest.probe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a process's resident set size from {@code /proc/<pid>/status} (Linux). */
public final class ProcStatus {
  private ProcStatus() {}

  /** VmRSS of {@code pid} in bytes, or -1 when it cannot be read. */
  public static long rssBytes(long pid) {
    return rssBytes(Path.of("/proc", Long.toString(pid), "status"));
  }

  /** VmRSS in bytes from a status file, or -1. */
  static long rssBytes(Path status) {
    try {
      for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
        if (line.startsWith("VmRSS:")) {
          String[] parts = line.substring(6).trim().split("\\s+");
          return Long.parseLong(parts[0]) * 1024L;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
