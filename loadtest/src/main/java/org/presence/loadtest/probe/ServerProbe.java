package org.presence.loadtest.probe;

import java.util.Optional;

/**
 * Reads the memory of the server under test, for per-socket figures: the floor reports its own
 * ({@code GET /__floor__/stats}); a Presence node is read through {@code /metrics} and, when it
 * runs on this machine and its pid is given, {@code jcmd <pid> GC.run} and {@code
 * /proc/<pid>/status}.
 */
public interface ServerProbe {
  /** A probe that knows nothing. */
  ServerProbe NONE = fullGc -> Optional.empty();

  /** Reads the server's memory, after a full GC when {@code fullGc} and the probe can cause one. */
  Optional<ServerMemory> measure(boolean fullGc);
}
