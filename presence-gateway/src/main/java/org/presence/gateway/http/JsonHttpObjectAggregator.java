package org.presence.gateway.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.PipelineNames;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Netty's aggregator, refusing an oversized request with the documented JSON error (413, errno
 * {@link ErrorCode#PAYLOAD_TOO_LARGE}) instead of an empty body, then ending the connection: the
 * rest of the body is not worth keeping. The same for a request whose {@code Expect} it does not
 * serve (417, errno {@link ErrorCode#BAD_REQUEST}) and for one that expects {@code 100-continue}
 * with a body over the limit: Netty answers those with an empty body on a connection it keeps, and
 * reads the body that follows as the next request, a way to smuggle one.
 *
 * <p>A refusal is not written here: it goes on as a request that failed to decode ({@link
 * Refusal}), which the router answers in its turn, after the requests pipelined before it, then
 * ends the connection ({@link HttpClose}). From the refusal on, nothing that arrives is decoded as
 * a request.
 *
 * <p>Routes may set their own body limit (the notification batches do). The aggregator's own limit
 * is the largest of them; a request announcing a {@code Content-Length} over its route's limit is
 * refused here before its body is read, and a chunked body (or one without a length) is counted as
 * it arrives and refused as soon as it passes its route's limit, so no more than the route's limit
 * is ever held for it.
 */
public final class JsonHttpObjectAggregator extends HttpObjectAggregator {
  private final HttpRoutes routes;
  private final int defaultLimit;

  /** The connection's header deadline, or null. */
  private final HeaderDeadline deadline;

  /** An aggregator with one limit for every request. */
  public JsonHttpObjectAggregator(int maxContentLength) {
    this(maxContentLength, null);
  }

  /**
   * An aggregator with {@code defaultLimit} for most requests and the route's own limit for routes
   * of {@code routes} that set one.
   */
  public JsonHttpObjectAggregator(int defaultLimit, HttpRoutes routes) {
    this(defaultLimit, routes, null);
  }

  /**
   * As {@link #JsonHttpObjectAggregator(int, HttpRoutes)}, telling {@code deadline} (or nobody,
   * when null) where each request's header and end are.
   */
  public JsonHttpObjectAggregator(int defaultLimit, HttpRoutes routes, HeaderDeadline deadline) {
    this(defaultLimit, routes, deadline, null);
  }

  /**
   * As {@link #JsonHttpObjectAggregator(int, HttpRoutes, HeaderDeadline)}, counting the bodies it
   * aggregates in the node's {@code budget} (null: not counted).
   */
  public JsonHttpObjectAggregator(
      int defaultLimit, HttpRoutes routes, HeaderDeadline deadline, BodyBudget budget) {
    super(routes == null ? defaultLimit : Math.max(defaultLimit, routes.largestBodyLimit()));
    this.routes = routes;
    this.defaultLimit = defaultLimit;
    this.deadline = deadline;
    this.budget = budget;
  }

  /** The node's budget of body bytes in flight, or null. */
  private final BodyBudget budget;

  /** Bytes of {@link #budget} the current request holds. */
  private long taken;

  /** Whether the current request's bytes are counted as they arrive (chunks, no length). */
  private boolean countsChunks;

  /** Gives back what the current request holds of the budget. */
  private void giveBack() {
    if (budget != null) {
      budget.giveBack(taken);
    }
    taken = 0;
    countsChunks = false;
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
    giveBack();
    super.handlerRemoved(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    giveBack();
    super.channelInactive(ctx);
  }

  /** The request being aggregated, or null. */
  private HttpRequest current;

  /** Its route's body limit. */
  private int currentLimit;

  /** Body bytes received for it so far. */
  private long received;

  /**
   * Whether the connection was refused (413, 417, too far ahead): whatever else arrives is dropped.
   */
  private boolean refused;

  /**
   * Requests a client may send ahead of the one being answered. Netty's codec fails the connection,
   * silently, past 128; before that, the next request is answered (in its turn) with errno 100 and
   * the connection closes.
   */
  public static final int MAX_AHEAD = 100;

  /** The depth the HTTP codec is built with: well above {@link #MAX_AHEAD}. */
  public static final int CODEC_PIPELINE_DEPTH = 8192;

  /** Requests handed on and not yet taken by the router ({@link #routed}): waiting their turn. */
  private int ahead;

  /**
   * Why a request is refused before it is aggregated: the failure of the request that goes on in
   * its place. The router answers it in its turn with {@link #status} and the JSON error of {@link
   * #code}, then ends the connection.
   */
  public static final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient HttpResponseStatus status;
    private final ErrorCode code;
    private final String detail;
    private final transient Consumer<HttpHeaders> headers;

    Refusal(HttpResponseStatus status, ErrorCode code, String detail) {
      this(status, code, detail, null);
    }

    Refusal(
        HttpResponseStatus status, ErrorCode code, String detail, Consumer<HttpHeaders> headers) {
      super(detail, null, false, false);
      this.status = status;
      this.code = code;
      this.detail = detail;
      this.headers = headers;
    }

    /** Headers the answer carries besides {@code Connection: close}, or null. */
    public Consumer<HttpHeaders> headers() {
      return headers;
    }

    /** The answer's status. */
    public HttpResponseStatus status() {
      return status;
    }

    /** The answer's errno. */
    public ErrorCode code() {
      return code;
    }

    /** The reason's detail. */
    public String detail() {
      return detail;
    }
  }

  /** The router took a request of {@code ch} to answer it. */
  public static void routed(Channel ch) {
    if (ch.pipeline().get(PipelineNames.HTTP_AGGREGATOR) instanceof JsonHttpObjectAggregator a) {
      a.ahead--;
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    // Every message the codec makes passes here, those the aggregator lets by (a request the codec
    // could not parse comes whole) included.
    if (deadline != null) {
      if (msg instanceof HttpRequest r) {
        deadline.headerDone(!r.decoderResult().isFailure() && hasBody(r));
      }
      if (msg instanceof LastHttpContent) {
        deadline.requestDone();
      }
    }
    super.channelRead(ctx, msg);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, HttpObject msg, List<Object> out)
      throws Exception {
    if (refused) {
      // A refusal is on its way and the connection closes after it (the input is released).
      return;
    }
    if (msg instanceof HttpRequest start && !(msg instanceof HttpContent)) {
      // A server's HTTP decoder starts nothing but requests (one it could not parse included).
      if (++ahead > MAX_AHEAD) {
        // In the requests' order (the router answers the ones before it first), then the
        // connection closes; what arrives meanwhile is dropped before it is decoded.
        current = null;
        refuse(
            ctx,
            start,
            HttpResponseStatus.BAD_REQUEST,
            ErrorCode.BAD_REQUEST,
            "more than " + MAX_AHEAD + " requests sent ahead of their answers",
            out);
        return;
      }
      current = start;
      continueOwed = null;
      currentLimit = limitOf(start);
      received = 0;
      giveBack();
      if (!start.decoderResult().isFailure() && checkHeader(ctx, start, out)) {
        // Refused on its header: its body is never read.
        return;
      }
      if (budget != null && !start.decoderResult().isFailure() && hasBody(start)) {
        long announced = HttpUtil.getContentLength(start, -1L);
        if (announced < 0) {
          countsChunks = true;
        } else if (announced <= currentLimit) {
          // (A length over the limit is refused below, 413, and never read.)
          if (!budget.take(announced)) {
            current = null;
            refuseBusy(ctx, start, out);
            return;
          }
          taken = announced;
        }
      }
      if (start.decoderResult().isFailure()) {
        // A request the codec could not parse (its Content-Length, for one, may not be a number)
        // goes on to the router, which answers it 400 and closes; no 100 Continue first.
        start.headers().remove(HttpHeaderNames.EXPECT);
        super.decode(ctx, msg, out);
        return;
      }
      if (unservedExpectation(start)) {
        // Netty would answer 417 with an empty body, keep the connection, and have the decoder
        // read the body that follows as the next request (a client ignoring the 417, or one
        // smuggling a request past a proxy that forwarded the body): refused and closed instead.
        current = null;
        refuse(
            ctx,
            start,
            HttpResponseStatus.EXPECTATION_FAILED,
            ErrorCode.BAD_REQUEST,
            "the only expectation served is 100-continue",
            out);
        return;
      }
      if (HttpUtil.is100ContinueExpected(start)
          && HttpUtil.getContentLength(start, -1L) > currentLimit) {
        // The same for a body announced over the limit that waits for 100 Continue: 413 with the
        // reason, and the body, sent or not, is never read as requests.
        current = null;
        refuseOversized(ctx, start, out);
        return;
      }
    } else if (msg instanceof HttpContent content
        && !(msg instanceof HttpMessage)
        && current != null) {
      if (content.decoderResult().cause() instanceof TooLongFrameException) {
        // The codec reads a chunk's size line (extensions included) with the request line's limit,
        // and fails it with the same exception: refused with a reason that names the chunk.
        releaseCurrentMessage();
        refuse(
            ctx,
            current,
            HttpResponseStatus.BAD_REQUEST,
            ErrorCode.BAD_REQUEST,
            "chunk size line too long",
            out);
        current = null;
        return;
      }
      int bytes = content.content().readableBytes();
      received += bytes;
      if (received > currentLimit) {
        releaseCurrentMessage();
        refuseOversized(ctx, current, out);
        current = null;
        return;
      }
      if (countsChunks && bytes > 0) {
        if (!budget.take(bytes)) {
          releaseCurrentMessage();
          refuseBusy(ctx, current, out);
          current = null;
          return;
        }
        taken += bytes;
      }
      if (msg instanceof LastHttpContent) {
        // Handed on whole: no longer being aggregated.
        current = null;
        giveBack();
      }
    }
    super.decode(ctx, msg, out);
    if (oversized != null) {
      // Netty found the start's Content-Length over the limit (handleOversizedMessage).
      refuseOversized(ctx, oversized, out);
      oversized = null;
    }
  }

  /** Header checks whose answers are awaited ({@link #checked}); reads are paused while any is. */
  private int checksPending;

  /** A Backpressure reason: a request's header check is under way. */
  private static final int CHECKING = Backpressure.HEADER_CHECK;

  /**
   * Runs the {@link HeaderCheck} of {@code start}'s route, if it has one and {@code start} has a
   * body: refused at once when its answer is at hand (true), or with reads paused until it comes
   * ({@link #checked}).
   */
  private boolean checkHeader(ChannelHandlerContext ctx, HttpRequest start, List<Object> out) {
    if (routes == null || !hasBody(start)) {
      return false;
    }
    String path = RequestTarget.originForm(start.method(), start.uri());
    HttpRoutes.Found found;
    try {
      found =
          path == null
              ? null
              : routes.checkedRoute(start.method(), new QueryStringDecoder(path).rawPath());
    } catch (IllegalArgumentException e) {
      // An address the router refuses with 400 in its turn.
      return false;
    }
    if (found == null) {
      return false;
    }
    CompletableFuture<ProtocolException> verdict;
    try {
      verdict = found.route().headerCheck().check(start, found.params()).toCompletableFuture();
    } catch (RuntimeException e) {
      // A bug in the check: the handler checks again.
      return false;
    }
    if (verdict.isDone()) {
      ProtocolException refusal = verdict.isCompletedExceptionally() ? null : verdict.join();
      if (refusal == null) {
        return false;
      }
      current = null;
      refuse(ctx, start, refusal, out);
      return true;
    }
    Channel ch = ctx.channel();
    if (checksPending++ == 0) {
      Backpressure.pause(ch, CHECKING);
      if (deadline != null) {
        deadline.checking(true);
      }
    }
    if (HttpUtil.is100ContinueExpected(start)) {
      // The body is invited once the check passes, not before (newContinueResponse).
      continueOwed = start;
    }
    verdict.whenComplete(
        (refusal, failure) -> {
          try {
            ch.eventLoop().execute(() -> checked(ctx, start, failure == null ? refusal : null));
          } catch (RejectedExecutionException stopping) {
            // The node is stopping: the connection goes with it.
          }
        });
    return false;
  }

  /** The header check of {@code start} answered {@code refusal} (null: go on). */
  private void checked(ChannelHandlerContext ctx, HttpRequest start, ProtocolException refusal) {
    if (--checksPending == 0) {
      // Reads stay paused while another request's check (pipelined) is still pending.
      Backpressure.resume(ctx.channel(), CHECKING);
      if (deadline != null) {
        deadline.checking(false);
      }
    }
    boolean owed = continueOwed == start;
    if (owed) {
      continueOwed = null;
    }
    if (current != start || refused || ctx.isRemoved()) {
      // Its body arrived whole meanwhile and its handler checks it: nothing to do here.
      return;
    }
    if (refusal == null) {
      if (owed) {
        ctx.writeAndFlush(
                new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER))
            .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      }
      return;
    }
    current = null;
    releaseCurrentMessage();
    List<Object> out = new ArrayList<>(1);
    refuse(ctx, start, refusal, out);
    ctx.fireChannelRead(out.get(0));
    ctx.fireChannelReadComplete();
  }

  /** Whether {@code start} announces a body (a length over 0, or chunks). */
  private static boolean hasBody(HttpRequest start) {
    return HttpUtil.getContentLength(start, 0L) > 0 || HttpUtil.isTransferEncodingChunked(start);
  }

  private void refuse(
      ChannelHandlerContext ctx, HttpRequest start, ProtocolException refusal, List<Object> out) {
    ErrorCode code = refusal.code();
    refuse(
        ctx,
        start,
        new Refusal(
            HttpResponseStatus.valueOf(code.httpStatus()),
            code,
            refusal.detail(),
            code.httpStatus() == 401
                ? h -> h.set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer")
                : null),
        out);
  }

  /** Whether {@code start} (HTTP/1.1) expects something other than {@code 100-continue}. */
  private static boolean unservedExpectation(HttpRequest start) {
    String expect = start.headers().get(HttpHeaderNames.EXPECT);
    return expect != null
        && start.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0
        && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect);
  }

  /** The body limit of {@code message}'s route. */
  private int limitOf(HttpMessage message) {
    if (routes == null || !(message instanceof HttpRequest request)) {
      return defaultLimit;
    }
    String path = RequestTarget.originForm(request.method(), request.uri());
    return path == null
        ? defaultLimit
        : routes.bodyLimit(request.method(), new QueryStringDecoder(path).rawPath(), defaultLimit);
  }

  @Override
  protected boolean isContentLengthInvalid(HttpMessage start, int maxContentLength) {
    return super.isContentLengthInvalid(start, Math.min(maxContentLength, limitOf(start)));
  }

  /**
   * The request whose header check is pending and that expects {@code 100-continue}: its {@code 100
   * Continue} is sent when the check passes ({@link #checked}), and a refused one never gets it, so
   * its client does not send a body only to be refused.
   */
  private HttpRequest continueOwed;

  @Override
  protected Object newContinueResponse(
      HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
    if (start == continueOwed) {
      // (Its length is within the limit: decode refused it otherwise.)
      start.headers().remove(HttpHeaderNames.EXPECT);
      return null;
    }
    return super.newContinueResponse(start, Math.min(maxContentLength, limitOf(start)), pipeline);
  }

  /** A start Netty found oversized while {@link #decode} ran: refused once it returns. */
  private HttpRequest oversized;

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage start) {
    // A start that got here passed decode: a request.
    oversized = (HttpRequest) start;
  }

  /** Refuses {@code start}: the node's budget of bodies in flight is spent (503, Retry-After). */
  private void refuseBusy(ChannelHandlerContext ctx, HttpRequest start, List<Object> out) {
    refuse(
        ctx,
        start,
        new Refusal(
            HttpResponseStatus.SERVICE_UNAVAILABLE,
            ErrorCode.SERVER_BUSY,
            "too many request bodies in flight",
            h -> h.set(HttpHeaderNames.RETRY_AFTER, "1")),
        out);
  }

  private void refuseOversized(ChannelHandlerContext ctx, HttpRequest start, List<Object> out) {
    refuse(
        ctx,
        start,
        HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
        ErrorCode.PAYLOAD_TOO_LARGE,
        "limit is " + Math.min(maxContentLength(), limitOf(start)) + " bytes",
        out);
  }

  /**
   * Hands on, in {@code request}'s place, a request that failed with a {@link Refusal}; from now on
   * whatever arrives is dropped: what is left of what was read here, and what is read later before
   * it is decoded.
   */
  private void refuse(
      ChannelHandlerContext ctx,
      HttpRequest request,
      HttpResponseStatus status,
      ErrorCode code,
      String detail,
      List<Object> out) {
    refuse(ctx, request, new Refusal(status, code, detail), out);
  }

  private void refuse(
      ChannelHandlerContext ctx, HttpRequest request, Refusal refusal, List<Object> out) {
    refused = true;
    giveBack();
    if (deadline != null) {
      deadline.refused();
    }
    HttpClose.discardInput(ctx.channel());
    DefaultFullHttpRequest failed =
        new DefaultFullHttpRequest(
            request.protocolVersion(), request.method(), request.uri(), Unpooled.EMPTY_BUFFER);
    // Its headers, for the answer's form (Accept), without what described the body it lacks.
    failed.headers().set(request.headers());
    failed.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
    failed.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
    failed.headers().remove(HttpHeaderNames.EXPECT);
    failed.setDecoderResult(DecoderResult.failure(refusal));
    out.add(failed);
  }
}
