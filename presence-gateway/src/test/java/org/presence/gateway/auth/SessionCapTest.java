package org.presence.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;

/**
 * Page sessions per user are capped ({@code web.max-sessions-per-user}): signing in beyond the cap
 * ends the user's oldest sessions, the newest keep working, and the settings page lists at most the
 * cap.
 */
class SessionCapTest {
  private static final int CAP = 3;
  private static final Pattern SESSION_ROW = Pattern.compile("/settings/sessions/[0-9a-f]{64}/end");

  @TempDir static Path dir;
  private static TestNode node;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("web.max-sessions-per-user", Integer.toString(CAP));
    node = TestNode.start(s, r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void signIns_beyondTheCap_endTheOldestSessions() throws Exception {
    List<WebClient> browsers = new ArrayList<>();
    for (int i = 0; i < CAP + 5; i++) {
      browsers.add(new WebClient(node).signIn("cora@example.com"));
      // Distinct creation times, so that "oldest" is well defined.
      Thread.sleep(5);
    }
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> page = browsers.get(i).get("/settings");
      assertThat(page.statusCode()).as("browser %d is signed out", i).isNotEqualTo(200);
    }
    for (int i = 5; i < CAP + 5; i++) {
      HttpResponse<String> page = browsers.get(i).get("/settings");
      assertThat(page.statusCode()).as("browser %d", i).isEqualTo(200);
      Matcher m = SESSION_ROW.matcher(page.body());
      int rows = 0;
      while (m.find()) {
        rows++;
      }
      assertThat(rows).as("sessions listed").isEqualTo(CAP);
    }
  }
}
