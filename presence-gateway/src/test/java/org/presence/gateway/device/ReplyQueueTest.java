package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.error.ErrorCode;

/** The answer order of a session, without a socket: what reaches the socket, in which order. */
class ReplyQueueTest {
  private final List<String> out = new ArrayList<>();
  private boolean gone;

  private final ReplyQueue queue =
      new ReplyQueue(
          new ReplyQueue.Out() {
            @Override
            public void writeReply(DeviceMessage message, boolean flush) {
              out.add(name(message) + (flush ? "+flush" : ""));
            }

            @Override
            public void flushReplies() {
              out.add("flush");
            }

            @Override
            public void closeWith(ErrorCode code, String detail) {
              out.add("close:" + code.name());
            }

            @Override
            public void failWith(Throwable failure) {
              out.add("fail:" + failure.getMessage());
            }

            @Override
            public void pauseReads(boolean pause) {
              out.add(pause ? "pause" : "resume");
            }

            @Override
            public boolean gone() {
              return gone;
            }
          });

  private static String name(DeviceMessage m) {
    if (m == Ack.INSTANCE) {
      return "ack";
    }
    if (m instanceof ErrorReply e) {
      return "error:" + e.errno();
    }
    if (m instanceof DeviceMessage.Refreshed r) {
      return "refreshed:" + r.expiresAt();
    }
    return m.toString();
  }

  private static ErrorReply error(ErrorCode code) {
    return ErrorReply.of(code, null);
  }

  @Test
  void answers_leaveInRequestOrder_whateverOrderTheirStepsComplete() {
    ReplyQueue.Reply first = queue.expect();
    ReplyQueue.Reply second = queue.expect();
    queue.reply(error(ErrorCode.UNKNOWN_NOTIFICATION));
    ReplyQueue.Reply third = queue.expect();

    queue.answer(third, new DeviceMessage.Refreshed(3));
    queue.answer(second, error(ErrorCode.PRESENCE_ID_TAKEN));
    assertThat(out).isEmpty();
    assertThat(queue.pending()).isTrue();

    queue.answer(first, Ack.INSTANCE);
    assertThat(out)
        .containsExactly("ack+flush", "error:24+flush", "error:173+flush", "refreshed:3+flush");
    assertThat(queue.pending()).isFalse();
  }

  @Test
  void answersWrittenDuringARead_leaveWithOneFlushAtItsEnd() {
    queue.readStarted();
    queue.reply(error(ErrorCode.UNKNOWN_NOTIFICATION));
    ReplyQueue.Reply a = queue.expect();
    ReplyQueue.Reply b = queue.expect();
    queue.answer(a, Ack.INSTANCE);
    queue.answer(b, Ack.INSTANCE);
    queue.readComplete();
    queue.readStarted();
    queue.readComplete();

    assertThat(out).containsExactly("error:173", "ack", "ack", "flush");

    out.clear();
    ReplyQueue.Reply later = queue.expect();
    queue.answer(later, Ack.INSTANCE);
    assertThat(out).containsExactly("ack+flush");
  }

  @Test
  void anEnd_waitsForTheAnswersBeforeIt_andNothingLeavesAfterIt() {
    ReplyQueue.Reply status = queue.expect();
    ReplyQueue.Reply lost = queue.expect();
    queue.endAfterReplies(ErrorCode.IDENTITY_EXPIRED, null);
    queue.answerEnd(lost, ErrorCode.SESSION_REPLACED, null);
    assertThat(out).isEmpty();

    queue.answer(status, Ack.INSTANCE);
    assertThat(out).containsExactly("ack+flush", "close:SESSION_REPLACED");
    assertThat(queue.pending()).isFalse();
  }

  @Test
  void aFailure_goesOutAfterThePendingAnswers_orAtOnceWhenNoneWaits() {
    ReplyQueue.Reply status = queue.expect();
    queue.failAfterReplies(new IllegalStateException("broken frame"));
    assertThat(out).isEmpty();
    queue.answer(status, Ack.INSTANCE);
    assertThat(out).containsExactly("ack+flush", "fail:broken frame");

    out.clear();
    queue.failAfterReplies(new IllegalStateException("again"));
    queue.endAfterReplies(ErrorCode.IDENTITY_EXPIRED, null);
    assertThat(out).containsExactly("fail:again", "close:IDENTITY_EXPIRED");
  }

  @Test
  void readsPause_whileMaxPendingAnswersWait_andResumeBelow() {
    List<ReplyQueue.Reply> waiting = new ArrayList<>();
    for (int i = 0; i < ReplyQueue.MAX_PENDING; i++) {
      waiting.add(queue.expect());
    }
    assertThat(out).containsExactly("pause");

    queue.answer(waiting.get(1), Ack.INSTANCE);
    assertThat(out).containsExactly("pause");
    queue.answer(waiting.get(0), Ack.INSTANCE);
    assertThat(out).containsExactly("pause", "ack+flush", "ack+flush", "resume");
  }

  @Test
  void aSessionGoneMeanwhile_getsNoAnswer_andHoldsNone() {
    ReplyQueue.Reply status = queue.expect();
    queue.reply(error(ErrorCode.UNKNOWN_NOTIFICATION));
    gone = true;
    queue.answer(status, Ack.INSTANCE);
    assertThat(out).isEmpty();
    assertThat(queue.pending()).isFalse();

    ReplyQueue.Reply other = queue.expect();
    queue.clear();
    queue.answer(other, Ack.INSTANCE);
    assertThat(out).isEmpty();
    assertThat(queue.pending()).isFalse();
  }
}
