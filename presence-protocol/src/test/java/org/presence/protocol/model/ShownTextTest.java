package org.presence.protocol.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;

class ShownTextTest {
  @ParameterizedTest
  @ValueSource(
      strings = {
        "At my desk",
        "Café — à bientôt, ¡hasta luego!",
        // Emoji: a pair, a ZWJ sequence (woman technologist), a flag of tag characters (England).
        "Coding \uD83D\uDCBB \uD83D\uDC69\u200D\uD83D\uDCBB \uD83C\uDFF4\uDB40\uDC67\uDB40\uDC62"
            + "\uDB40\uDC65\uDB40\uDC6E\uDB40\uDC67\uDB40\uDC7F",
        // Persian needs the zero-width non-joiner; Hebrew and Arabic are right-to-left as written.
        "می\u200Cروم",
        "בפגישה",
        "في اجتماع",
        "会議中",
        "\u00A0non-breaking space and ~ tilde"
      })
  void problem_whenVisibleText_thenNone(String s) {
    assertThat(ShownText.problem(s)).isNull();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "0000 | control character U+0000",
        "0009 | control character U+0009",
        "000A | control character U+000A",
        "001B | control character U+001B",
        "007F | control character U+007F",
        "0085 | control character U+0085",
        "00AD | invisible format character U+00AD",
        "200B | invisible format character U+200B",
        "200E | invisible format character U+200E",
        "202A | invisible format character U+202A",
        "202E | invisible format character U+202E",
        "2066 | invisible format character U+2066",
        "2069 | invisible format character U+2069",
        "FEFF | invisible format character U+FEFF",
        "2028 | line separator U+2028",
        "2029 | line separator U+2029",
        "D83D | unpaired surrogate U+D83D",
        "DCBB | unpaired surrogate U+DCBB"
      })
  void problem_whenRefusedCharacter_thenNamesTheFirst(String hex, String reason) {
    char c = (char) Integer.parseInt(hex.strip(), 16);
    assertThat(ShownText.problem("ok " + c + " then \u0007")).isEqualTo(reason.strip());
    assertThat(ShownText.problem(String.valueOf(c))).isEqualTo(reason.strip());
  }

  @Test
  void problem_whenPairSplitAtTheEndOfTheRange_thenUnpaired() {
    char[] chars = "ab\uD83D\uDCBB".toCharArray();
    assertThat(ShownText.problem(chars, 0, 4)).isNull();
    assertThat(ShownText.problem(chars, 0, 3)).isEqualTo("unpaired surrogate U+D83D");
    assertThat(ShownText.problem(chars, 3, 1)).isEqualTo("unpaired surrogate U+DCBB");
    assertThat(ShownText.problem(chars, 2, 0)).isNull();
  }

  @Test
  void deviceStatus_whenEmojiAndJoiners_thenDecodedAsSent() throws Exception {
    String message = "\uD83D\uDC69\u200D\uD83D\uDCBB می\u200Cروم";
    byte[] frame =
        ("{\"type\":\"status\",\"session_id\":\"61539351-1f02-4b62-a136-205000ece41a\","
                + "\"status\":\"away\",\"message\":\""
                + message
                + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    var m = new DeviceCodec().decode(Unpooled.wrappedBuffer(frame));
    assertThat(m).isInstanceOf(StatusUpdate.class);
    assertThat(((StatusUpdate) m).message()).isEqualTo(message);
  }
}
