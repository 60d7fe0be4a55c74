package org.presence.loadtest.targets;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClientExceptionTest {
  @Test
  void errorKinds_areStableLabels() {
    assertThat(ClientException.kindOf(ClientException.errno(34, "Invalid assertion")))
        .isEqualTo("errno 34");
    assertThat(
            ClientException.kindOf(
                new java.util.concurrent.CompletionException(new java.net.ConnectException())))
        .isEqualTo("connect-refused");
    // Netty's connect timeout is a ConnectException too: not a refusal.
    assertThat(
            ClientException.kindOf(
                new io.netty.channel.ConnectTimeoutException("connection timed out: /10.0.0.1:80")))
        .isEqualTo("connect-timeout");
    assertThat(Reply.error(-5, "x").sessionLost()).isTrue();
    assertThat(Reply.error(40, "x").sessionLost()).isFalse();
  }

  @Test
  void errorKinds_areReadAlongTheCauseChain() {
    // What Netty throws when the process is out of file descriptors (EMFILE) while opening a
    // socket: a ChannelException around the system's error.
    Throwable emfile =
        new java.util.concurrent.CompletionException(
            new io.netty.channel.ChannelException(
                "Unable to create Channel from class class io.netty.channel.epoll.EpollSocketChannel",
                new java.io.IOException("newSocketStream(..) failed: Too many open files")));
    assertThat(ClientException.kindOf(emfile)).isEqualTo("too-many-open-files");
    assertThat(
            ClientException.kindOf(
                new IllegalStateException(
                    "wrapped", new java.net.BindException("Cannot assign requested address"))))
        .isEqualTo("no-free-local-port");
    assertThat(
            ClientException.kindOf(
                new java.io.IOException("setup", new java.net.ConnectException())))
        .isEqualTo("connect-refused");
    assertThat(
            ClientException.kindOf(
                new io.netty.channel.ChannelException("x", new java.io.IOException("y"))))
        .isEqualTo("io-error");
    assertThat(ClientException.kindOf(new IllegalStateException("x")))
        .isEqualTo("IllegalStateException");
  }
}
