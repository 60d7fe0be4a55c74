package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class NodeCommandTest {
  private static final UUID S = UUID.fromString("0f8fad5b-d9cb-469f-a165-70867728950e");

  @Test
  void encode_writesTheBytesOtherNodesRead() {
    assertThat(
            new String(
                new NodeCommand(NodeCommand.Type.REPLACE, S).encode(), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"type\":\"replace\",\"session_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"}");
    assertThat(
            new String(
                new NodeCommand(NodeCommand.Type.DISCONNECT, S).encode(), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"type\":\"disconnect\",\"session_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"}");
    assertThat(NodeCommand.channel("n1")).isEqualTo("presence.node.n1");
    assertThat(DeviceService.nodeChannel("n1")).isEqualTo(NodeCommand.channel("n1"));
  }

  @Test
  void decode_roundTrips_andReadsWhatOlderNodesSent() throws IOException {
    for (NodeCommand.Type t : NodeCommand.Type.values()) {
      NodeCommand c = new NodeCommand(t, S);
      assertThat(NodeCommand.decode(c.encode())).contains(c);
    }
    byte[] old =
        ("{\"session_id\":\"" + S + "\",\"type\":\"disconnect\",\"extra\":[1]}")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(NodeCommand.decode(old)).contains(new NodeCommand(NodeCommand.Type.DISCONNECT, S));
  }

  @Test
  void decode_ignoresUnknownCommands_andRefusesMalformedOnes() throws IOException {
    assertThat(NodeCommand.decode("{\"type\":\"drain\"}".getBytes(StandardCharsets.UTF_8)))
        .isEmpty();
    for (String bad :
        new String[] {
          "nope", "[]", "{\"type\":\"replace\"}", "{\"type\":\"replace\",\"session_id\":\"x\"}"
        }) {
      assertThatThrownBy(() -> NodeCommand.decode(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(IOException.class);
    }
  }
}
