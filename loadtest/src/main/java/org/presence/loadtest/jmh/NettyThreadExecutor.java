package org.presence.loadtest.jmh;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs JMH's benchmark threads as Netty {@code FastThreadLocalThread}s, like the gateway's event
 * loops, so that pooled buffers come from a thread cache and their objects are recycled as they are
 * on an event loop. Selected with {@code -Djmh.executor=CUSTOM
 * -Djmh.executor.class=org.presence.loadtest.jmh.NettyThreadExecutor}.
 */
public final class NettyThreadExecutor extends ThreadPoolExecutor {
  /** The constructor JMH calls: the thread count and a name prefix. */
  public NettyThreadExecutor(int maxThreads, String prefix) {
    super(
        maxThreads,
        maxThreads,
        1,
        TimeUnit.MINUTES,
        new LinkedBlockingQueue<>(),
        new DefaultThreadFactory(prefix, true));
  }
}
