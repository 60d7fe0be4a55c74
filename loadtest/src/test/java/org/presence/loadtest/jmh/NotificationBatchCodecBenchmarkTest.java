package org.presence.loadtest.jmh;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.api.NotificationBatchCodec.Judged;

/**
 * The benchmark reads what it claims to (its speed is judged in BENCHMARKS.md): ten items, every
 * one accepted, with one action or ten.
 */
class NotificationBatchCodecBenchmarkTest {
  @Test
  void batches_holdTenAcceptedItems_withOneActionOrTen() {
    for (String actions : List.of("same", "distinct")) {
      NotificationBatchCodecBenchmark b = new NotificationBatchCodecBenchmark();
      b.actions = actions;
      b.setUp();
      try {
        List<Judged> read =
            new NotificationBatchCodec(NotificationBatchCodec.Limits.defaults()).decode(b.body());
        assertThat(read).hasSize(10).allMatch(Judged::ok);
        assertThat(read.stream().map(j -> j.item().action()).distinct().count())
            .as(actions)
            .isEqualTo(actions.equals("same") ? 1 : 10);
      } finally {
        b.tearDown();
      }
    }
  }
}
