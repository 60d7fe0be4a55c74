package org.presence.loadtest.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PresenceProbeTest {
  @Test
  void presenceProbe_readsPrometheusText() {
    Map<String, Double> m =
        PresenceProbe.parse(
            "# HELP x\njvm_memory_heap_used 3.2083968E7\npresence_connections_open{kind=\"device\"} 5.0\nbad line\n");
    assertThat(m).containsEntry("jvm_memory_heap_used", 3.2083968E7);
    assertThat(m).containsEntry("presence_connections_open{kind=\"device\"}", 5.0);
  }
}
