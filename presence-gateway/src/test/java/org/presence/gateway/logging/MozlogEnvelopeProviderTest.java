package org.presence.gateway.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import net.logstash.logback.composite.loggingevent.LoggingEventNestedJsonProvider;
import net.logstash.logback.composite.loggingevent.MessageJsonProvider;
import net.logstash.logback.encoder.LoggingEventCompositeJsonEncoder;
import org.junit.jupiter.api.Test;

class MozlogEnvelopeProviderTest {
  @Test
  void severity_mapsLevelsToSyslog() {
    assertThat(MozlogEnvelopeProvider.severity(Level.ERROR)).isEqualTo(3);
    assertThat(MozlogEnvelopeProvider.severity(Level.WARN)).isEqualTo(4);
    assertThat(MozlogEnvelopeProvider.severity(Level.INFO)).isEqualTo(6);
    assertThat(MozlogEnvelopeProvider.severity(Level.DEBUG)).isEqualTo(7);
  }

  @Test
  void encoder_writesOneMozlogObjectPerLine() throws Exception {
    LoggerContext context = new LoggerContext();
    LoggingEventCompositeJsonEncoder encoder = new LoggingEventCompositeJsonEncoder();
    encoder.setContext(context);
    encoder.getProviders().addProvider(new MozlogEnvelopeProvider());
    LoggingEventNestedJsonProvider fields = new LoggingEventNestedJsonProvider();
    fields.setFieldName("Fields");
    MessageJsonProvider msg = new MessageJsonProvider();
    msg.setFieldName("msg");
    fields.getProviders().addProvider(msg);
    encoder.getProviders().addProvider(fields);
    encoder.start();

    LoggingEvent event =
        new LoggingEvent(
            "x",
            context.getLogger("org.presence.Test"),
            Level.WARN,
            "hello {}",
            null,
            new Object[] {"world"});
    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
    assertThat(line).endsWith("\n").doesNotContain("\n\n");
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(json.get("Timestamp").isIntegralNumber()).isTrue();
    assertThat(json.get("Timestamp").asLong()).isGreaterThan(1_600_000_000_000_000_000L);
    assertThat(json.get("Type").asText()).isEqualTo("presence.log");
    assertThat(json.get("Logger").asText()).isEqualTo("presence");
    assertThat(json.get("EnvVersion").asText()).isEqualTo("2.0");
    assertThat(json.get("Severity").asInt()).isEqualTo(4);
    assertThat(json.get("Pid").asLong()).isEqualTo(ProcessHandle.current().pid());
    assertThat(json.get("Hostname").asText()).isNotEmpty();
    assertThat(json.get("Fields").get("msg").asText()).isEqualTo("hello world");
  }
}
