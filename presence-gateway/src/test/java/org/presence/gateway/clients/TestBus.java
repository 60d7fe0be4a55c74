package org.presence.gateway.clients;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A private D-Bus bus for a test: Debian's {@code dbus-daemon} on a unix socket in a temporary
 * directory, with a configuration that lets every connection own any name. Close it to stop it.
 */
final class TestBus implements AutoCloseable {
  private final Process process;
  private final String address;

  private TestBus(Process process, String address) {
    this.process = process;
    this.address = address;
  }

  static boolean available() {
    return Files.isExecutable(Path.of("/usr/bin/dbus-daemon"));
  }

  static TestBus start(Path dir) throws IOException, InterruptedException {
    Path conf = dir.resolve("bus.conf");
    Files.writeString(
        conf,
        """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>session</type>
          <listen>unix:path=%s</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow send_destination="*" eavesdrop="true"/>
            <allow eavesdrop="true"/>
            <allow own="*"/>
          </policy>
        </busconfig>
        """
            .formatted(dir.resolve("bus")));
    Process p =
        new ProcessBuilder(
                "/usr/bin/dbus-daemon", "--nofork", "--print-address", "--config-file=" + conf)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> line =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return out.readLine();
              } catch (IOException e) {
                return null;
              }
            });
    String address;
    try {
      address = line.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IOException("dbus-daemon did not start", e);
    }
    if (address == null || address.isBlank()) {
      p.destroyForcibly();
      throw new IOException("dbus-daemon printed no address");
    }
    return new TestBus(p, address.strip());
  }

  String address() {
    return address;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
