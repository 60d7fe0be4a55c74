package org.presence.gateway.bootstrap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;

/**
 * The thread rule that every test JVM enforces: BlockHound (installed for every test run by
 * {@code blockhound-junit-platform}, with Netty's own integration) makes a blocking call on a Netty
 * event loop fail, so any test whose code path blocks an event loop fails too.
 */
class BlockingCallsTest {
  private final EventLoopGroup loop =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("blocking-calls-test", true), NioIoHandler.newFactory());

  @AfterEach
  void close() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @Test
  void sleepOnAnEventLoop_thenFails() {
    Callable<Void> sleep =
        () -> {
          Thread.sleep(1);
          return null;
        };
    assertThatThrownBy(() -> loop.submit(sleep).get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(BlockingOperationError.class);
  }

  @Test
  void sleepOffTheEventLoops_thenAllowed() throws Exception {
    Thread.sleep(1);
    assertThat(loop.submit(() -> 42).get(10, TimeUnit.SECONDS)).isEqualTo(42);
  }
}
