package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * The body timeout while the node checks a request's header with reads paused ({@link
 * HeaderDeadline#checking}): the node's own wait is not the client's, and the body's time starts
 * afresh once the check ends.
 */
class HeaderDeadlineCheckTest {
  private static final long HEADER_MS = 1_000;
  private static final long BODY_MS = 2_000;

  private final HeaderDeadline deadline =
      new HeaderDeadline(HEADER_MS, BODY_MS, GatewayMetrics.create());
  private final EmbeddedChannel ch = new EmbeddedChannel(deadline);

  @AfterEach
  void close() {
    Object m;
    while ((m = ch.readInbound()) != null) {
      ReferenceCountUtil.release(m);
    }
    while ((m = ch.readOutbound()) != null) {
      ReferenceCountUtil.release(m);
    }
    ch.finishAndReleaseAll();
  }

  private void advance(long ms) {
    ch.advanceTimeBy(ms, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
  }

  private String written() {
    ByteBuf out = ch.readOutbound();
    if (out == null) {
      return null;
    }
    try {
      return out.toString(StandardCharsets.US_ASCII);
    } finally {
      out.release();
    }
  }

  @Test
  void aBodyIsNotTimedWhileItsHeaderIsChecked_andGetsItsWholeTimeAfter() {
    ch.writeInbound(Unpooled.copiedBuffer("POST /1/notification", StandardCharsets.US_ASCII));
    deadline.headerDone(true);
    deadline.checking(true);

    // A store slower than the body timeout: nothing is answered while the node holds the body back.
    advance(BODY_MS * 3);
    assertThat(written()).isNull();
    assertThat(ch.isActive()).isTrue();

    // The check ended: the body has its whole time from now, and then no more.
    deadline.checking(false);
    advance(BODY_MS - 200);
    assertThat(written()).isNull();
    advance(400);
    assertThat(written()).startsWith("HTTP/1.1 408 ").contains("body incomplete");
  }

  @Test
  void withoutACheck_theBodyIsTimedFromTheEndOfItsHeader() {
    ch.writeInbound(Unpooled.copiedBuffer("POST /1/notification", StandardCharsets.US_ASCII));
    deadline.headerDone(true);
    advance(BODY_MS + 200);
    assertThat(written()).startsWith("HTTP/1.1 408 ").contains("body incomplete");
  }
}
