package org.presence.loadtest.probe;

/**
 * Memory of the server under test at one moment, as a {@link ServerProbe} read it. Unknown figures
 * are -1.
 *
 * @param heapUsed JVM heap in use, bytes
 * @param afterFullGc whether {@code heapUsed} was read right after a full GC (otherwise it includes
 *     garbage, and per-socket figures from it are upper bounds)
 * @param direct direct (off-heap) buffer memory in use, bytes
 * @param rss resident set size of the server process, bytes
 * @param connections connections the server counts open, or -1
 */
public record ServerMemory(
    long heapUsed, boolean afterFullGc, long direct, long rss, long connections) {}
