package org.presence.loadtest.targets;

import io.netty.channel.EventLoop;

/** Makes {@link VirtualApp}s for a target; one per target, shared by all injector threads. */
public interface AppChannel {
  /** A new, unsubscribed app connection that will live on {@code loop}. */
  VirtualApp newApp(EventLoop loop, Inbound inbound);
}
