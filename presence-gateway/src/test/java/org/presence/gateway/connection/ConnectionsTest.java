package org.presence.gateway.connection;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.AttributeKey;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * A connection's kind and the open-connections gauges, kept in its backpressure handler: counted as
 * HTTP when opened, moved to its kind when upgraded, counted closed when its channel goes inactive.
 */
class ConnectionsTest {
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final Connections connections = new Connections(metrics);

  private long open(Connections.Kind kind) {
    return metrics.connectionsOpen(kind.label()).getValue();
  }

  private EmbeddedChannel opened() {
    // Ids of their own: every EmbeddedChannel has the same one by default.
    EmbeddedChannel ch = new EmbeddedChannel(DefaultChannelId.newInstance());
    ch.pipeline().addFirst(PipelineNames.BACKPRESSURE, new Backpressure(1000, c -> {}));
    connections.opened(ch);
    return ch;
  }

  /** A device registry holding the channels of {@code held}, as they are at each call. */
  private static Connections.Registry registryOver(List<Channel> held) {
    return new Connections.Registry() {
      @Override
      public int size() {
        return held.size();
      }

      @Override
      public void forEachChannel(Consumer<Channel> action) {
        held.forEach(action);
      }
    };
  }

  @Test
  void openedBusyUpgradedClosed_countsEachKind_withNoChannelAttribute() {
    EmbeddedChannel ch = opened();
    EmbeddedChannel other = opened();
    assertThat(open(Connections.Kind.HTTP)).isEqualTo(2);
    assertThat(Connections.kindOf(ch)).isEqualTo(Connections.Kind.HTTP);
    assertThat(connections.size()).isEqualTo(2);

    Connections.busy(ch, true);
    assertThat(Connections.kindOf(ch)).isEqualTo(Connections.Kind.HTTP);
    assertThat(open(Connections.Kind.HTTP)).isEqualTo(2);
    Connections.busy(ch, false);

    connections.upgraded(ch, Connections.Kind.DEVICE, c -> {});
    assertThat(Connections.kindOf(ch)).isEqualTo(Connections.Kind.DEVICE);
    assertThat(open(Connections.Kind.HTTP)).isEqualTo(1);
    assertThat(open(Connections.Kind.DEVICE)).isEqualTo(1);
    // A device socket is no HTTP connection: marking it busy changes nothing.
    Connections.busy(ch, true);
    assertThat(Connections.kindOf(ch)).isEqualTo(Connections.Kind.DEVICE);

    ch.close();
    other.close();
    assertThat(open(Connections.Kind.DEVICE)).isZero();
    assertThat(open(Connections.Kind.HTTP)).isZero();
    assertThat(connections.size()).isZero();
    assertThat(AttributeKey.exists("presence.connection")).isFalse();
  }

  @Test
  void drain_closesAnIdleHttpConnection_keepsABusyOne_andDrainsAnUpgradedOne() {
    EmbeddedChannel idle = opened();
    EmbeddedChannel busy = opened();
    Connections.busy(busy, true);
    EmbeddedChannel device = opened();
    List<Channel> drained = new ArrayList<>();
    connections.upgraded(device, Connections.Kind.DEVICE, drained::add);
    connections.drain();
    for (EmbeddedChannel c : new EmbeddedChannel[] {idle, busy, device}) {
      c.runPendingTasks();
    }
    assertThat(idle.isOpen()).isFalse();
    assertThat(busy.isOpen()).isTrue();
    assertThat(drained).containsExactly(device);
    assertThat(connections.draining()).isTrue();
    busy.close();
    device.close();
  }

  @Test
  void aConnectionHandedOver_leavesTheMap_andIsStillDrainedClosedCountedAndFound() {
    List<Channel> held = new ArrayList<>();
    connections.attach(registryOver(held));
    EmbeddedChannel http = opened();
    EmbeddedChannel device = opened();
    List<Channel> drained = new ArrayList<>();
    connections.upgraded(device, Connections.Kind.DEVICE, drained::add);
    held.add(device);
    assertThat(connections.size()).as("in both places for an instant").isEqualTo(3);
    connections.handOver(device);
    assertThat(connections.size()).isEqualTo(2);
    assertThat(open(Connections.Kind.DEVICE)).isEqualTo(1);

    connections.drain();
    http.runPendingTasks();
    device.runPendingTasks();
    assertThat(drained).as("drained once").containsExactly(device);
    assertThat(http.isOpen()).isFalse();
    // (Every EmbeddedChannel has the same remote address: found once the other one is gone.)
    assertThat(connections.find(device.remoteAddress())).isSameAs(device);

    connections.closeAll();
    assertThat(device.isOpen()).isFalse();
    assertThat(open(Connections.Kind.DEVICE)).isZero();
  }

  @Test
  void aConnectionInBothPlaces_isDrainedOnce() {
    List<Channel> held = new ArrayList<>();
    connections.attach(registryOver(held));
    EmbeddedChannel device = opened();
    List<Channel> drained = new ArrayList<>();
    connections.upgraded(device, Connections.Kind.DEVICE, drained::add);
    held.add(device);
    connections.drain();
    device.runPendingTasks();
    assertThat(drained).containsExactly(device);
    device.close();
  }
}
