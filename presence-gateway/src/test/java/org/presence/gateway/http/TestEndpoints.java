package org.presence.gateway.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;

/** WebSocket endpoints that only tests install. */
public final class TestEndpoints {
  private TestEndpoints() {}

  /** Echoes text frames back. */
  public static WebSocketEndpoint echo() {
    return new WebSocketEndpoint() {
      @Override
      public Connections.Kind kind() {
        return Connections.Kind.WEBSOCKET;
      }

      @Override
      public void install(ChannelPipeline pipeline, HttpExchange upgrade) {
        pipeline.addBefore(
            PipelineNames.EXCEPTION,
            "echo",
            new SimpleChannelInboundHandler<TextWebSocketFrame>() {
              @Override
              protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
                ctx.writeAndFlush(new TextWebSocketFrame(frame.text()));
              }
            });
      }
    };
  }
}
