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
    assertThat(Reply.error(-5, "x").sessionLost()).isTrue();
    assertThat(Reply.error(40, "x").sessionLost()).isFalse();
  }
}
