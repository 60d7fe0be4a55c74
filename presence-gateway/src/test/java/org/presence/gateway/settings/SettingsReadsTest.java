package org.presence.gateway.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * A connect, and a read through the JSON API, reads its user's settings from the database only when
 * the user has stored settings, and then once until they change: counted by the database itself
 * (H2's query statistics on the embedded node's file), not timed.
 */
class SettingsReadsTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir static Path dir;
  private static TestNode node;

  @BeforeAll
  static void start() {
    node = TestNode.embedded(dir);
    node.server()
        .store()
        .persistence()
        .db()
        .jdbi()
        .useHandle(h -> h.execute("SET QUERY_STATISTICS TRUE"));
    await().atMost(WAIT).until(() -> node.server().appFeatures().settings().knowsStoredUsers());
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  /** Reads of one user's settings the database ran so far. */
  private static long settingsReads() {
    return node.server()
        .store()
        .persistence()
        .db()
        .jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT COALESCE(SUM(EXECUTION_COUNT), 0) FROM"
                            + " INFORMATION_SCHEMA.QUERY_STATISTICS WHERE UPPER(SQL_STATEMENT)"
                            + " LIKE '%FROM USER_SETTINGS WHERE USER_SUB%' AND UPPER(SQL_STATEMENT)"
                            + " NOT LIKE '%QUERY_STATISTICS%'")
                    .mapTo(Long.class)
                    .one());
  }

  private static void save(String email, String custom) {
    HttpResponse<String> r =
        ApiClient.forEmail(node, email)
            .put("/api/settings", "{\"custom_status\":\"" + custom + "\",\"away_message\":\"\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static DeviceTestClient connect(String email, String device) {
    DeviceTestClient d = DeviceTestClient.connected(node, node.token(email), null, device);
    assertThat(d.status(PresenceStatus.ONLINE, null)).isInstanceOf(DeviceMessage.Ack.class);
    return d;
  }

  @Test
  void firstConnectOfUsersWithoutSettings_readsNoSettings_aSavedChangeIsReadAndPushed() {
    long before = settingsReads();
    for (int i = 0; i < 5; i++) {
      try (DeviceTestClient d = connect("nosettings" + i + "@example.com", "phone")) {
        assertThat(d.session()).isNotNull();
      }
    }
    assertThat(settingsReads()).as("settings reads for 5 new users").isEqualTo(before);

    try (DeviceTestClient d = connect("dana@example.com", "phone")) {
      long beforeSave = settingsReads();
      save("dana@example.com", "Reading");
      DeviceMessage.Settings pushed = d.settings(WAIT);
      assertThat(pushed).as("settings frame").isNotNull();
      assertThat(pushed.customStatus()).isEqualTo("Reading");
      long afterSave = settingsReads();
      assertThat(afterSave).isGreaterThan(beforeSave);
      // Now that she has settings, a new session of hers reads them (once; the cache keeps them).
      try (DeviceTestClient other = connect("dana@example.com", "laptop")) {
        assertThat(other.session()).isNotNull();
      }
      assertThat(settingsReads()).isLessThanOrEqualTo(afterSave + 1);
      assertThat(node.server().appFeatures().settings().cachedNow("dev:dana@example.com"))
          .extracting(s -> s.customStatus())
          .isEqualTo("Reading");
    }
  }

  @Test
  void apiReads_comeFromTheCache_andSeeEveryChange() {
    ApiClient erin = ApiClient.forEmail(node, "erin@example.com");
    save("erin@example.com", "Out");
    HttpResponse<String> first = erin.get("/api/settings");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    long afterFirst = settingsReads();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> again = erin.get("/api/settings");
      assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
      assertThat(again.body()).isEqualTo(first.body());
    }
    assertThat(settingsReads()).as("database reads for 3 more reads").isEqualTo(afterFirst);

    // A change drops the cached copy before its answer: the next read has it.
    save("erin@example.com", "Back at 3");
    assertThat(erin.get("/api/settings").body()).contains("\"custom_status\":\"Back at 3\"");

    // A user without settings: the defaults, from no database read.
    long before = settingsReads();
    HttpResponse<String> none = ApiClient.forEmail(node, "frank@example.com").get("/api/settings");
    assertThat(none.statusCode()).as(none.body()).isEqualTo(200);
    assertThat(none.body()).contains("\"custom_status\":\"\"");
    assertThat(settingsReads()).isEqualTo(before);
  }
}
