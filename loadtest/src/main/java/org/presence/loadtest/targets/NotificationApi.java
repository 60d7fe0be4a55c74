package org.presence.loadtest.targets;

import io.netty.channel.EventLoop;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Posts live notifications as an AppService does ({@code POST /<appid>/notification} with the app's
 * key, issue 6). The notify scenario calls it from the app's event loop.
 */
public interface NotificationApi {
  /**
   * Posts one batch from app number {@code app}: one item per user in {@code users}, each with
   * {@code message} (which carries a stamp); completes with the HTTP answer.
   */
  CompletionStage<Reply> post(EventLoop loop, int app, List<Long> users, String message);
}
