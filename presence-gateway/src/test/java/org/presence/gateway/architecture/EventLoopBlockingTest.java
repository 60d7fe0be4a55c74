package org.presence.gateway.architecture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.presence.gateway.bootstrap.EventLoops;
import org.presence.store.testing.BlockingCalls;

/**
 * BlockHound is active in this module's tests: a blocking call on one of the gateway's event loops
 * ({@code gw-io-N}) fails the test that made it, and the same call on an ordinary thread does not.
 */
class EventLoopBlockingTest {
  private static final AtomicBoolean LAUNCHED = new AtomicBoolean();

  @Test
  void aSleepOnAnEventLoopIsRecordedWithItsThreadAndCaller() throws Exception {
    Thread.sleep(1); // the test's own thread may block: not recorded

    String answer = echoThroughASleepingHandler();

    List<BlockingCalls.BlockingCall> calls = BlockingCalls.drain();
    assertThat(answer).isEqualTo("x");
    assertThat(calls).hasSize(1);
    assertThat(calls.get(0).method()).isEqualTo("java.lang.Thread.sleep");
    assertThat(calls.get(0).thread()).startsWith("gw-io-");
    assertThat(calls.get(0).describe()).contains(SleepingEcho.class.getName() + ".channelRead0");
  }

  @Test
  void aTestThatSleepsOnAnEventLoopFails() {
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    Launcher launcher = LauncherFactory.create();
    LAUNCHED.set(true);
    try {
      launcher.execute(
          LauncherDiscoveryRequestBuilder.request().selectors(selectClass(Sleeper.class)).build(),
          listener);
    } finally {
      LAUNCHED.set(false);
    }

    TestExecutionSummary summary = listener.getSummary();
    assertThat(summary.getTestsSucceededCount()).isZero();
    assertThat(summary.getFailures()).hasSize(1);
    assertThat(summary.getFailures().get(0).getException())
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("1 blocking call(s) on a Netty event loop while")
        .hasMessageContaining("Blocking call java.lang.Thread.sleep on gw-io-");
    assertThat(BlockingCalls.drain()).isEmpty();
  }

  /** Run only by {@link #aTestThatSleepsOnAnEventLoopFails}, through its own launcher. */
  static class Sleeper {
    @Test
    void sleepsOnAnEventLoop() throws Exception {
      assumeTrue(LAUNCHED.get(), "run by EventLoopBlockingTest only");
      assertThat(echoThroughASleepingHandler()).isEqualTo("x");
    }
  }

  /** Sends one byte over loopback to a server whose handler sleeps before echoing it. */
  private static String echoThroughASleepingHandler() throws Exception {
    EventLoops loops = EventLoops.create(1);
    try {
      Channel server =
          new ServerBootstrap()
              .group(loops.acceptor(), loops.io())
              .channel(loops.serverChannel())
              .childHandler(
                  new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      ch.pipeline().addLast(new SleepingEcho());
                    }
                  })
              .bind("127.0.0.1", 0)
              .sync()
              .channel();
      try (Socket socket = new Socket()) {
        socket.connect((InetSocketAddress) server.localAddress(), 5_000);
        socket.setSoTimeout(5_000);
        OutputStream out = socket.getOutputStream();
        out.write('x');
        out.flush();
        InputStream in = socket.getInputStream();
        return String.valueOf((char) in.read());
      } finally {
        server.close().sync();
      }
    } finally {
      loops.shutdown(5_000);
    }
  }

  private static final class SleepingEcho extends SimpleChannelInboundHandler<ByteBuf> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) throws Exception {
      Thread.sleep(1);
      ctx.writeAndFlush(msg.retain());
    }
  }
}
