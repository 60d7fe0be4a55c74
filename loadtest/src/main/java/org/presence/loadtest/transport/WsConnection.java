package org.presence.loadtest.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * An open client WebSocket made by {@link WsConnector}: send text, close, and learn when it closed.
 * Incoming text frames go to the {@link WsConnector.Listener} it was opened with.
 */
public final class WsConnection {
  private final Channel channel;
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final WsConnector.FrameHandler handler;

  WsConnection(Channel channel, WsConnector.FrameHandler handler) {
    this.channel = channel;
    this.handler = handler;
  }

  /**
   * The socket closed and its listener was told ({@link WsConnector.Listener#onClosed}): {@link
   * #closed()} completes only now, so that whoever waits for a close finds it counted.
   */
  void closedAndTold() {
    closed.complete(null);
  }

  /** Sends one text frame. */
  public ChannelFuture send(String text) {
    return channel.writeAndFlush(new TextWebSocketFrame(text));
  }

  /** Sends one text frame; takes ownership of {@code utf8}. */
  public ChannelFuture send(ByteBuf utf8) {
    return channel.writeAndFlush(new TextWebSocketFrame(utf8));
  }

  /** Sends a normal close frame and closes the socket; completes when it is closed. */
  public CompletionStage<Void> close() {
    if (channel.eventLoop().inEventLoop()) {
      handler.closingByUs();
    } else {
      channel.eventLoop().execute(handler::closingByUs);
    }
    if (channel.isActive()) {
      channel
          .writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE))
          .addListener(ChannelFutureListener.CLOSE);
    } else {
      channel.close();
    }
    return closed;
  }

  /** Completes when the socket is closed, by either side, once the listener was told. */
  public CompletionStage<Void> closed() {
    return closed;
  }

  /** Whether the socket is open. */
  public boolean isOpen() {
    return channel.isActive();
  }

  /** The event loop the socket lives on. */
  public EventLoop eventLoop() {
    return channel.eventLoop();
  }

  /** The Netty channel (for the buffer allocator, say). */
  public Channel channel() {
    return channel;
  }
}
