package org.presence.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class DeviceFramesTest {
  @Test
  void requests_areWrittenAsTheNodeReadsThem() {
    assertThat(DeviceFrames.connect("t", "phone", null))
        .isEqualTo("{\"type\":\"connect\",\"assertion\":\"t\",\"device\":\"phone\"}");
    assertThat(DeviceFrames.connect("t", null, new long[] {3, 4}))
        .isEqualTo("{\"type\":\"connect\",\"assertion\":\"t\",\"application_ids\":[3,4]}");
    assertThat(DeviceFrames.status("s", PresenceStatus.AWAY, "lunch \"now\""))
        .isEqualTo(
            "{\"type\":\"status\",\"session_id\":\"s\",\"status\":\"away\","
                + "\"message\":\"lunch \\\"now\\\"\"}");
    assertThat(DeviceFrames.status("s", PresenceStatus.ONLINE, null))
        .isEqualTo("{\"type\":\"status\",\"session_id\":\"s\",\"status\":\"online\"}");
    assertThat(DeviceFrames.acknowledge("s", List.of("a", "b")))
        .isEqualTo("{\"type\":\"acknowledge\",\"session_id\":\"s\",\"ids\":[\"a\",\"b\"]}");
    assertThat(DeviceFrames.dismiss("s", List.of("a")))
        .isEqualTo("{\"type\":\"dismiss\",\"session_id\":\"s\",\"ids\":[\"a\"]}");
    assertThat(DeviceFrames.refresh("t2")).isEqualTo("{\"type\":\"refresh\",\"assertion\":\"t2\"}");
  }

  @Test
  void nodeFrames_readIntoTheirKinds_unknownFieldsSkipped() {
    assertThat(
            DeviceFrames.read(
                "{\"result\":true,\"session_id\":\"x\",\"expires_at\":9,\"new\":[1]}"))
        .isEqualTo(new DeviceFrames.Accepted("x", 9));
    assertThat(DeviceFrames.read("{\"result\":true}"))
        .isEqualTo(new DeviceFrames.Accepted(null, 0));
    assertThat(DeviceFrames.read("{\"result\":false,\"errno\":-2,\"reason\":\"Replaced\"}"))
        .isEqualTo(new DeviceFrames.Refused(-2, "Replaced"));
    assertThat(
            DeviceFrames.read(
                "{\"notifications\":[{\"id\":\"n\",\"appid\":7,\"source\":\"A\",\"message\":\"m\","
                    + "\"expires\":5,\"missed\":true},{\"no\":\"id\"}]}"))
        .isEqualTo(
            new DeviceFrames.Pushed(
                List.of(new DeviceClient.Notification("n", 7, "A", "m", "", 5, true))));
    assertThat(
            DeviceFrames.read(
                "{\"settings\":{\"online_within_minutes\":5,\"away_message\":\"b\"}}"))
        .isEqualTo(new DeviceFrames.SettingsChanged(new DeviceClient.Settings(5, 0, 0, "", "b")));
    assertThat(DeviceFrames.isPushed("{\"notifications\":[]}")).isTrue();
    assertThat(DeviceFrames.isPushed("{\"settings\":{}}")).isTrue();
    assertThat(DeviceFrames.isPushed("{\"result\":true}")).isFalse();
    assertThat(DeviceFrames.isPushed("{")).isFalse();
  }

  @Test
  void malformedFrames_failWithErrno10() {
    for (String bad : List.of("", "[1]", "{\"a\":", "{} {}", "{\"notifications\":5}")) {
      assertThatThrownBy(() -> DeviceFrames.read(bad))
          .as(bad)
          .isInstanceOfSatisfying(
              PresenceException.class, e -> assertThat(e.errno()).isEqualTo(10));
    }
  }
}
