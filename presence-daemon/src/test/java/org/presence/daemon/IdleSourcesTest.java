package org.presence.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The idle sources' parsing. logind itself is not on this machine (no system bus in CI): the
 * daemon's D-Bus reads are exercised against a stand-in on a real dbus-daemon in presence-gateway's
 * DaemonTest; X11 needs a display, so {@code xprintidle}'s part is run as a stand-in command here.
 */
class IdleSourcesTest {
  private static final long NOW = 1_764_000_000_000_000L;

  @Test
  void logindHints() {
    // The desktop never set a hint: logind cannot tell.
    assertThat(LogindIdle.fromHints(false, 0, NOW)).isNull();
    // Active since some time: not idle.
    assertThat(LogindIdle.fromHints(false, NOW - 5_000_000, NOW)).isEqualTo(Duration.ZERO);
    // Idle since 11 minutes.
    assertThat(LogindIdle.fromHints(true, NOW - 660_000_000, NOW))
        .isEqualTo(Duration.ofMinutes(11));
    // A hint from the future (clock steps) counts as just idle.
    assertThat(LogindIdle.fromHints(true, NOW + 1_000_000, NOW)).isEqualTo(Duration.ZERO);
    assertThat(LogindIdle.fromHints(true, 0, NOW)).isEqualTo(Duration.ZERO);
  }

  @Test
  void logindSessionPaths_areEscapedAsSdBusDoes() {
    assertThat(LogindIdle.escape("auto")).isEqualTo("auto");
    assertThat(LogindIdle.escape("2")).isEqualTo("_32");
    assertThat(LogindIdle.escape("c12")).isEqualTo("c12");
    assertThat(LogindIdle.escape("a-b_c")).isEqualTo("a_2db_5fc");
    assertThat(LogindIdle.escape("")).isEqualTo("_");
  }

  @Test
  void xprintidleOutput() {
    assertThat(X11Idle.parse("123456\n")).isEqualTo(Duration.ofMillis(123_456));
    assertThat(X11Idle.parse("0")).isEqualTo(Duration.ZERO);
    assertThat(X11Idle.parse("couldn't open display")).isNull();
    assertThat(X11Idle.parse("")).isNull();
    assertThat(X11Idle.parse("99999999999999999999")).isNull();
  }

  @Test
  void x11Source_runsTheCommandOnTheDisplay() throws IOException {
    X11Idle ok = new X11Idle(List.of("sh", "-c", "echo 660000"), Map.of("DISPLAY", ":0"));
    assertThat(ok.idle()).isEqualTo(Duration.ofMinutes(11));
    X11Idle failing = new X11Idle(List.of("sh", "-c", "exit 1"), Map.of("DISPLAY", ":0"));
    assertThat(failing.idle()).isNull();
    X11Idle missing = new X11Idle(List.of("/nonexistent/xprintidle"), Map.of("DISPLAY", ":0"));
    assertThatThrownBy(missing::idle)
        .isInstanceOf(IOException.class)
        .hasMessageContaining("xprintidle");
    assertThat(missing.idle()).isNull();
  }

  @Test
  void orElse_asksTheSecondWhenTheFirstCannotTell() throws IOException {
    IdleSource none = () -> null;
    IdleSource five = () -> Duration.ofMinutes(5);
    assertThat(none.orElse(five).idle()).isEqualTo(Duration.ofMinutes(5));
    assertThat(five.orElse(none).idle()).isEqualTo(Duration.ofMinutes(5));
    assertThat(none.orElse(none).idle()).isNull();
    // No logind on the bus: X11 still answers; when neither can, logind's failure is reported.
    IdleSource failing =
        () -> {
          throw new IOException("logind: no such name");
        };
    assertThat(failing.orElse(five).idle()).isEqualTo(Duration.ofMinutes(5));
    assertThatThrownBy(() -> failing.orElse(none).idle()).hasMessageContaining("logind");
  }
}
