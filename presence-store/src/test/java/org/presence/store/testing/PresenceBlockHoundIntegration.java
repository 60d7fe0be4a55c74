package org.presence.store.testing;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * How BlockHound runs in Presence's test JVMs (loaded through {@code META-INF/services}, next to
 * Netty's own integration, which marks every Netty {@code FastThreadLocalThread} as non-blocking
 * and allows Netty's known waits): a blocking call on an event loop is recorded in {@link
 * BlockingCalls} and fails the running test through {@link BlockingCallsExtension}.
 *
 * <p>The allow-list below is for waits that are bounded and not ours to move. Keep it short, and
 * give each entry its reason.
 */
public final class PresenceBlockHoundIntegration implements BlockHoundIntegration {
  /** Each allow-list entry given to a builder: the class name and the method name. */
  private static final Set<List<String>> ALLOWED = ConcurrentHashMap.newKeySet();

  /**
   * The allow-list's entries, as class and method names. Some name a library's internals (a
   * lambda's synthetic name among them), which an upgrade may rename; a test checks that each still
   * exists, so a rename fails that test rather than reappearing as a rare blocking-call failure
   * elsewhere.
   */
  public static Set<List<String>> allowed() {
    new PresenceBlockHoundIntegration().applyTo(BlockHound.builder());
    return Set.copyOf(ALLOWED);
  }

  private static void allow(BlockHound.Builder builder, String className, String method) {
    ALLOWED.add(List.of(className, method));
    builder.allowBlockingCallsInside(className, method);
  }

  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.blockingMethodCallback(method -> BlockingCalls.record(method.toString()));

    // Lettuce's I/O threads are Netty event loops. Its SharedLock guards a command write against a
    // concurrent connection state change (reconnect, close, endpoint activation) with a
    // ReentrantLock that is held only for a counter update or that state change, never across I/O:
    // a lettuce-io thread may park there for microseconds when another thread holds it.
    allow(builder, "io.lettuce.core.protocol.SharedLock", "incrementWriters");
    allow(builder, "io.lettuce.core.protocol.SharedLock", "doExclusive");

    // Lettuce's cluster client, once it has connected to a node, sets the node connection up
    // (auto-flush, read-only) under the provider's state lock, held only for that set-up; a
    // lettuce event loop completing one node's connection may park there for microseconds while
    // another thread sets up another (seen once in NotificationsRedisClusterIT, when the bus's
    // resubscription and a script call per primary opened node connections at the same moment).
    allow(
        builder,
        "io.lettuce.core.cluster.PooledClusterConnectionProvider$NodeConnectionPostProcessor",
        "lambda$apply$4");
    // The same lock when a topology refresh hands the cluster's new slot map to a connection: the
    // provider swaps its partitions under it (no I/O; every holder of that lock holds it for a
    // field update), then closes stale node connections asynchronously, on the lettuce event loop
    // that read the refreshed topology (seen once in RedisPresenceBusClusterIT, a pub/sub
    // connection's refresh while the test's other connection was being closed).
    allow(builder, "io.lettuce.core.cluster.PooledClusterConnectionProvider", "setPartitions");

    // Netty's adaptive allocator (the default in 4.2): when a magazine group grows, the magazine it
    // replaces is freed under that magazine's StampedLock, which waits only for an allocation
    // from that magazine already under way on another thread. Netty's own integration allows the
    // allocator's thread-local set-up and removal but not this (seen in ChannelFloodTest).
    allow(builder, "io.netty.buffer.AdaptivePoolingAllocator$Magazine", "free");

    // Netty's io_uring transport (gateway.transport = io_uring): an event loop that shuts down
    // closes its ring after spinning (Thread.onSpinWait) until the wake-up it has in flight
    // completes; only when the loop ends (seen in DeviceChannelIoUringTest at every node's close).
    allow(builder, "io.netty.channel.uring.IoUringIoHandler", "destroy");

    // Handing a task to a thread pool from an event loop (a database call to store-db, a delayed
    // retry to CompletableFuture's delayer): the pool's queue is guarded by a ReentrantLock held
    // only while a task is added or taken, so a loop may park there for microseconds when a
    // worker is taking a task at that instant. The work itself runs on the pool. (Seen in
    // SentinelFailoverIT: Enqueuer completing a batch on a lettuce-io thread.)
    allow(builder, "java.util.concurrent.ThreadPoolExecutor", "execute");
    allow(builder, "java.util.concurrent.ScheduledThreadPoolExecutor", "delayedExecute");
    // The same queue when a scheduled task is cancelled and taken out of it: a Redis reply that
    // completes a future with a timeout (CompletableFuture.orTimeout) cancels the timeout's task on
    // CompletableFuture's delayer, and may wait for the delayer taking its next task (seen once in
    // SentinelFailoverIT, on a lettuce-epollEventLoop thread).
    allow(
        builder, "java.util.concurrent.ScheduledThreadPoolExecutor$ScheduledFutureTask", "cancel");

    // Lettuce builds a command interface's method map once and keeps it in a static map behind one
    // ReentrantLock, held for the lookup or that one build; a new connection's sync proxy takes it
    // in its constructor, and Lettuce connects (to a Sentinel, when reconnecting after a failover)
    // on its event executors (seen in SentinelFailoverIT, 8 waits during the failover).
    allow(builder, "io.lettuce.core.internal.AbstractInvocationHandler$MethodTranslator", "of");

    // Jackson builds a type's deserializer once, under its cache's lock; a loop decoding the same
    // type meanwhile waits for that one-time build (seen on lettuce-io in AdminClusterIT).
    allow(
        builder,
        "com.fasterxml.jackson.databind.deser.DeserializerCache",
        "_createAndCacheValueDeserializer");
  }
}
