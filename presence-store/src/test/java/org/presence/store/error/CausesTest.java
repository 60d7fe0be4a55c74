package org.presence.store.error;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** The innermost cause and its message, as the log lines and start-up lines quote them. */
class CausesTest {
  @Test
  void innermost_followsTheChainToItsEnd() {
    ConnectException root = new ConnectException("Connection refused");
    Throwable chain =
        new CompletionException(new UncheckedIOException(new IOException("connect failed", root)));

    assertThat(Causes.innermost(chain)).isSameAs(root);
    assertThat(Causes.innermostMessage(chain)).isEqualTo("Connection refused");
    assertThat(Causes.innermost(root)).isSameAs(root);
  }

  @Test
  void innermostMessage_isTheClassName_whenTheCauseHasNoMessage_andKeepsLineBreaks() {
    assertThat(Causes.innermostMessage(new IllegalStateException("outer", new ConnectException())))
        .isEqualTo("ConnectException");
    assertThat(Causes.innermostMessage(new IOException("first line\nsecond line")))
        .isEqualTo("first line\nsecond line");
  }

  /** A cause that is its own cause ends the walk there instead of looping. */
  @Test
  void innermost_stopsAtACauseThatIsItsOwnCause() {
    Throwable self =
        new RuntimeException("self") {
          private static final long serialVersionUID = 1L;

          @Override
          public synchronized Throwable getCause() {
            return this;
          }
        };
    assertThat(Causes.innermost(new IllegalStateException("outer", self))).isSameAs(self);
  }
}
