package org.presence.loadtest.targets;

import io.netty.channel.EventLoop;

/** Makes {@link VirtualDevice}s for a target; one per target, shared by all injector threads. */
public interface DeviceChannel {
  /** A new, unconnected device whose connection will live on {@code loop}. */
  VirtualDevice newDevice(EventLoop loop, Inbound inbound);
}
