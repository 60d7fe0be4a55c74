package org.presence.store.updates;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;

class LocalAppUpdateLogTest extends AppUpdateLogContract {
  @Override
  protected AppUpdateLog open(Duration retention) {
    return new LocalAppUpdateLog(java.time.Clock.systemUTC(), retention);
  }

  @Override
  protected AppUpdateLog bounded(int max) {
    return new LocalAppUpdateLog(java.time.Clock.systemUTC(), AppUpdateLog.RETENTION, max);
  }

  @Override
  protected AppUpdateLog peer(AppUpdateLog log) {
    return log;
  }

  @Override
  protected void closeAll() {}

  @Test
  void restart_numbersContinueUpwardAndOldReadersGetTooOld() throws Exception {
    LocalAppUpdateLog before = new LocalAppUpdateLog();
    long seq =
        join(before.append(1, List.of(new AppUpdate.New("p", PresenceStatus.ONLINE, ""))))
            .get(0)
            .seq();
    Thread.sleep(2);
    LocalAppUpdateLog after = new LocalAppUpdateLog();
    assertThat(join(after.lastSeq(1))).isGreaterThan(seq);
    assertThat(join(after.readSince(1, seq, 10)).outcome()).isEqualTo(AppUpdateLog.Outcome.TOO_OLD);
    assertThat(seq).isLessThan(1L << 53);
  }
}
