package org.presence.loadtest.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Test;

class TransportTest {
  @Test
  void named_takesEachNameInAnyCase_andAutoIsEpollWhereItLoads() {
    Transport auto = Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO;
    assertThat(Transport.named(null)).isEqualTo(auto);
    assertThat(Transport.named("AUTO")).isEqualTo(auto);
    assertThat(Transport.best()).isEqualTo(auto);
    assertThat(Transport.named("nio")).isEqualTo(Transport.NIO);
    assertThat(Transport.named("Io_Uring")).isEqualTo(Transport.IO_URING);
    assertThat(Transport.named("epoll")).isEqualTo(Transport.EPOLL);
    assertThat(Transport.IO_URING.wireName()).isEqualTo("io_uring");
  }

  @Test
  void named_refusesAnUnknownName_sayingWhichAreKnown() {
    assertThatThrownBy(() -> Transport.named("kqueue"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'kqueue'")
        .hasMessageContaining(Transport.NAMES);
  }

  @Test
  void eachTransport_pairsItsLoopsWithItsOwnSocketClasses() {
    assertThat(Transport.IO_URING.socketChannel().getSimpleName()).startsWith("IoUring");
    assertThat(Transport.IO_URING.serverChannel().getSimpleName()).startsWith("IoUring");
    assertThat(Transport.EPOLL.socketChannel().getSimpleName()).startsWith("Epoll");
    assertThat(Transport.NIO.serverChannel().getSimpleName()).startsWith("Nio");
  }
}
