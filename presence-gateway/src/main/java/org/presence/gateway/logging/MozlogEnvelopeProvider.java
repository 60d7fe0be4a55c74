package org.presence.gateway.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import net.logstash.logback.composite.AbstractJsonProvider;

/**
 * Writes the top-level fields of a mozlog record (Mozilla's JSON log format): {@code Timestamp} in
 * nanoseconds since the epoch, {@code Type}, {@code Logger}, {@code Hostname}, {@code EnvVersion},
 * {@code Severity} as a syslog level and {@code Pid}. The message and context go in {@code Fields},
 * written by the encoder's standard providers.
 */
public final class MozlogEnvelopeProvider extends AbstractJsonProvider<ILoggingEvent> {
  private static final String HOSTNAME = hostname();
  private static final long PID = ProcessHandle.current().pid();

  @Override
  public void writeTo(JsonGenerator g, ILoggingEvent event) throws IOException {
    long nanos =
        event.getInstant() != null
            ? event.getInstant().getEpochSecond() * 1_000_000_000L + event.getInstant().getNano()
            : event.getTimeStamp() * 1_000_000L;
    g.writeNumberField("Timestamp", nanos);
    g.writeStringField("Type", "presence.log");
    g.writeStringField("Logger", "presence");
    g.writeStringField("Hostname", HOSTNAME);
    g.writeStringField("EnvVersion", "2.0");
    g.writeNumberField("Severity", severity(event.getLevel()));
    g.writeNumberField("Pid", PID);
  }

  /** The syslog severity of a logback level (3 error, 4 warning, 6 info, 7 debug). */
  static int severity(Level level) {
    return switch (level.toInt()) {
      case Level.ERROR_INT -> 3;
      case Level.WARN_INT -> 4;
      case Level.INFO_INT -> 6;
      default -> 7;
    };
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
