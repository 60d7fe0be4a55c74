package org.presence.loadtest.floor;

import io.netty.channel.Channel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/** The floor's shared state: subscribers per relay channel and a few counters. */
public final class FloorState {
  private final ConcurrentMap<String, Set<Channel>> subscribers = new ConcurrentHashMap<>();
  private final LongAdder open = new LongAdder();
  private final LongAdder framesIn = new LongAdder();
  private final LongAdder framesOut = new LongAdder();

  /** The subscribers of relay channel {@code name} (live view). */
  Set<Channel> subscribers(String name) {
    return subscribers.computeIfAbsent(name, k -> ConcurrentHashMap.newKeySet());
  }

  void opened() {
    open.increment();
  }

  void closed() {
    open.decrement();
  }

  void frameIn() {
    framesIn.increment();
  }

  void framesOut(int n) {
    framesOut.add(n);
  }

  /** Open WebSockets. */
  public long connections() {
    return open.sum();
  }

  /** Frames received on publishing sockets. */
  public long framesIn() {
    return framesIn.sum();
  }

  /** Frames written to subscribers. */
  public long framesOut() {
    return framesOut.sum();
  }
}
