package org.presence.gateway.device;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.presence.gateway.app.Secrets;
import org.presence.gateway.config.PushConfig;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpHandler;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.push.PushStatus;
import org.presence.protocol.push.PushStatusCodec;

/**
 * {@code POST /push/status}: a SimplePush/autopush server reports the status a device's ping
 * carried, {@code {"xpi": "<presence id>", "xps": "O" | "A" | "U"}} (seeds 000 and 001). The
 * request must carry {@code Authorization: Bearer <push.secret>}; the status then goes to the
 * device that tied the presence id, with the same semantics as a status update on the device
 * channel. The body must be {@code application/json} ({@code UNSUPPORTED_MEDIA_TYPE}, 415, as on
 * every JSON route), checked after the secret. Answers {@code {"result": true}}, or the error body
 * with its HTTP status.
 */
public final class PushStatusHandler implements HttpHandler {
  /** The route. */
  public static final String PATH = "/push/status";

  private static final byte[] OK = "{\"result\":true}".getBytes(StandardCharsets.US_ASCII);

  /** The SHA-256 of the expected {@code Authorization} value. */
  private final byte[] expected;

  private final DeviceService service;

  public PushStatusHandler(PushConfig config, DeviceService service) {
    this.expected = Secrets.sha256("Bearer " + config.secret());
    this.service = service;
  }

  /**
   * Whether {@code authorization} is the expected header value. Both sides are SHA-256 digests, so
   * the constant-time comparison always covers 32 bytes: neither the secret's bytes nor its length
   * can be learnt from response times.
   */
  static boolean authorized(byte[] expectedDigest, String authorization) {
    return authorization != null
        && MessageDigest.isEqual(expectedDigest, Secrets.sha256(authorization));
  }

  @Override
  public void handle(HttpExchange exchange) {
    String auth = exchange.header(HttpHeaderNames.AUTHORIZATION);
    if (!authorized(expected, auth)) {
      exchange.error(ErrorCode.UNAUTHORIZED, "push server secret");
      return;
    }
    if (!HttpExchange.isJson(exchange.header(HttpHeaderNames.CONTENT_TYPE))) {
      exchange.error(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send application/json");
      return;
    }
    PushStatus report;
    try {
      report = PushStatusCodec.decode(exchange.body());
    } catch (ProtocolException e) {
      exchange.error(e);
      return;
    }
    service
        .pushStatus(report.presenceId(), report.status())
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                exchange.error(e);
              } else {
                exchange.respond(
                    HttpResponseStatus.OK,
                    HttpExchange.JSON,
                    io.netty.buffer.Unpooled.wrappedBuffer(OK));
              }
            });
  }
}
