package org.presence.loadtest.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcStatusTest {
  @TempDir Path dir;

  @Test
  void procStatus_readsRss() throws Exception {
    Path status = dir.resolve("status");
    Files.writeString(status, "Name:\tjava\nVmRSS:\t  2048 kB\n");
    assertThat(ProcStatus.rssBytes(status)).isEqualTo(2048 * 1024);
    assertThat(ProcStatus.rssBytes(dir.resolve("missing"))).isEqualTo(-1);
    assertThat(ProcStatus.rssBytes(ProcessHandle.current().pid())).isPositive();
  }
}
