package org.presence.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NodeReportsRequestTest {
  @Test
  void request_isTheJsonOtherNodesRead_evenForAChannelNeedingEscapes() {
    assertThat(new String(NodeReports.request("presence.admin.reply.r1"), StandardCharsets.UTF_8))
        .isEqualTo("{\"reply\":\"presence.admin.reply.r1\"}");
    assertThat(new String(NodeReports.request("a\"b"), StandardCharsets.UTF_8))
        .isEqualTo("{\"reply\":\"a\\\"b\"}");
  }
}
