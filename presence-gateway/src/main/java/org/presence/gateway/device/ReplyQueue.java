package org.presence.gateway.device;

import java.util.ArrayDeque;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ErrorCode;

/**
 * A session's answers in request order, without Netty: while an asynchronous step (a status, a push
 * registration, an answer to notifications) is pending, later answers (refusals included) wait
 * behind it, whatever order their steps complete in, and an error that ends the session goes out
 * only after the answers of the frames accepted before it. At most {@value #MAX_PENDING} answers
 * wait; the socket's reads pause while that many do. Answers written during a read leave with one
 * flush at its end. One per socket, used on its event loop only; it holds no deque while no answer
 * waits. A socket's {@link SessionDriver} is one (it extends this class), so that the queue costs
 * the socket no object of its own.
 */
@OnEventLoop
class ReplyQueue {
  /** Answers waiting (behind an asynchronous step) before the socket's reads pause. */
  static final int MAX_PENDING = 32;

  /** Where answers go: the socket. */
  interface Out {
    /** Writes {@code message}, flushing it when {@code flush}. */
    void writeReply(DeviceMessage message, boolean flush);

    /** Flushes what was written. */
    void flushReplies();

    /** Ends the session with {@code code}. */
    void closeWith(ErrorCode code, String detail);

    /** Ends the session for {@code failure} (as the pipeline's exception handler would). */
    void failWith(Throwable failure);

    /** Pauses ({@code true}) or resumes the socket's reads while answers wait. */
    void pauseReads(boolean pause);

    /** Whether the session ended otherwise meanwhile (closed, closing): no answer is due. */
    boolean gone();
  }

  /**
   * One answer in request order: known at once, or when its asynchronous step completes. It is a
   * frame to send, or the error that ends the session ({@code end} or {@code failure}).
   */
  static final class Reply {
    private DeviceMessage message;
    private ErrorCode end;
    private String detail;
    private Throwable failure;
    private boolean ready;
  }

  /** Where answers go; a {@link SessionDriver}'s socket. */
  private final Out out;

  /** Answers not written yet, in request order; {@code null} while none waits. */
  private ArrayDeque<Reply> replies;

  private boolean paused;

  /** Between a read's first frame and its {@link #readComplete}: answers wait for its flush. */
  private boolean reading;

  /** Answers were written during the read and wait for its one flush. */
  private boolean flushDue;

  ReplyQueue(Out out) {
    this.out = out;
  }

  /** Where answers go. */
  final Out out() {
    return out;
  }

  /** A read began: what is written until {@link #readComplete} leaves with one flush. */
  void readStarted() {
    reading = true;
  }

  /** The end of a read: the answers written during it leave with one flush. */
  void readComplete() {
    reading = false;
    if (flushDue) {
      flushDue = false;
      out.flushReplies();
    }
  }

  /** Whether answers wait behind an asynchronous step. */
  boolean pending() {
    return replies != null;
  }

  /** A place in the answer order for an asynchronous step; fill it with {@link #answer}. */
  Reply expect() {
    if (replies == null) {
      replies = new ArrayDeque<>(4);
    }
    Reply reply = new Reply();
    replies.add(reply);
    if (replies.size() >= MAX_PENDING && !paused) {
      paused = true;
      out.pauseReads(true);
    }
    return reply;
  }

  /** The asynchronous step of {@code reply} completed with {@code message}: writes what is due. */
  void answer(Reply reply, DeviceMessage message) {
    reply.message = message;
    reply.ready = true;
    writeDue();
  }

  /**
   * The asynchronous step of {@code reply} lost the session ({@code code}): the session ends once
   * the answers before it are written.
   */
  void answerEnd(Reply reply, ErrorCode code, String detail) {
    reply.end = code;
    reply.detail = detail;
    reply.ready = true;
    writeDue();
  }

  /** Answers now, or after the answers still pending. */
  void reply(DeviceMessage message) {
    if (replies == null) {
      send(message);
      return;
    }
    Reply r = new Reply();
    r.message = message;
    r.ready = true;
    replies.add(r);
  }

  /** Ends the session with {@code code} once the answers still pending are written. */
  void endAfterReplies(ErrorCode code, String detail) {
    if (replies == null) {
      out.closeWith(code, detail);
      return;
    }
    Reply r = new Reply();
    r.end = code;
    r.detail = detail;
    r.ready = true;
    replies.add(r);
  }

  /** Ends the session for {@code failure} once the answers still pending ({@link #pending}) are. */
  void failAfterReplies(Throwable failure) {
    if (replies == null) {
      out.failWith(failure);
      return;
    }
    Reply r = new Reply();
    r.failure = failure;
    r.ready = true;
    replies.add(r);
  }

  /** The socket closed: no answer is due any more. */
  void clear() {
    replies = null;
  }

  /**
   * Writes {@code message} now (not in the answer order): flushed at the end of the read during
   * one, else at once.
   */
  void send(DeviceMessage message) {
    if (reading) {
      out.writeReply(message, false);
      flushDue = true;
    } else {
      out.writeReply(message, true);
    }
  }

  /** Writes the answers that are due, in order, up to the first still pending. */
  private void writeDue() {
    if (replies == null) {
      return;
    }
    if (out.gone()) {
      // Ended otherwise meanwhile (replaced, keepalive, drain): no answer is due any more.
      replies = null;
      return;
    }
    while (!replies.isEmpty() && replies.peek().ready) {
      Reply r = replies.poll();
      if (r.end != null || r.failure != null) {
        replies = null;
        if (r.failure != null) {
          out.failWith(r.failure);
        } else {
          out.closeWith(r.end, r.detail);
        }
        return;
      }
      send(r.message);
    }
    if (replies.isEmpty()) {
      replies = null;
    }
    if (paused && (replies == null || replies.size() < MAX_PENDING)) {
      paused = false;
      out.pauseReads(false);
    }
  }
}
