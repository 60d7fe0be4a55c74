package org.presence.gateway.error;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Running out of direct memory fails every connection that reads meanwhile: the exception handler
 * writes one ERROR line for the lot (once a minute, with a count), not a stack per connection.
 */
class ExceptionHandlerOomTest {
  @Test
  void outOfMemory_onManyConnections_isOneErrorLine_withoutAStack_andEachConnectionCloses() {
    Logger log = (Logger) LoggerFactory.getLogger(ExceptionHandler.class);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    log.addAppender(seen);
    ExceptionHandler handler = new ExceptionHandler(null);
    List<EmbeddedChannel> channels = new ArrayList<>();
    try {
      for (int i = 0; i < 1_000; i++) {
        EmbeddedChannel ch = new EmbeddedChannel(handler);
        channels.add(ch);
        OutOfMemoryError oom =
            new OutOfMemoryError("Cannot reserve 65536 bytes of direct buffer memory");
        // As the read loop reports it, and as a decoder that failed to allocate does.
        ch.pipeline().fireExceptionCaught(i % 2 == 0 ? oom : new DecoderException(oom));
      }
    } finally {
      log.detachAppender(seen);
    }
    List<ILoggingEvent> errors =
        seen.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).getFormattedMessage()).contains("direct buffer memory");
    assertThat(errors.get(0).getThrowableProxy()).isNull();
    assertThat(channels).allSatisfy(ch -> assertThat(ch.isOpen()).isFalse());
  }
}
