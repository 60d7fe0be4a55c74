package org.presence.gateway.pages;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;

/**
 * The same Register form sent to two in-JVM nodes sharing PostgreSQL and Redis (a resend a load
 * balancer routes to another node) makes one application: the form's id is kept with the
 * application in the database, not only in the memory of the node that answered first. With one
 * application allowed per developer, the second sending is answered with that application, not
 * refused as one too many.
 */
class RegisterFormClusterIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern FORM_ID = Pattern.compile("name=\"form_id\" value=\"([^\"]+)\"");

  @TempDir static Path root;
  static TestCluster cluster;
  static TestNode a;
  static TestNode b;

  @BeforeAll
  static void start() {
    cluster =
        TestCluster.create(
            RegisterFormClusterIT.class,
            root,
            "regform",
            Map.of(
                "identity.dev-signing", "true",
                "web.dev-sign-in", "true",
                "apps.max-per-developer", "1"));
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close(); // b, a, then the schema
    }
  }

  private static String formId(String page) {
    Matcher m = FORM_ID.matcher(page);
    assertThat(m.find()).as(page).isTrue();
    return m.group(1);
  }

  @Test
  void theSameFormSentToEachNode_makesOneApplication() throws Exception {
    String dev = "twice@example.com";
    WebClient onA = new WebClient(a).signIn(dev);
    WebClient onB = new WebClient(b).signIn(dev);
    // Node B's page, for its form token; the Register form sent is the one node A showed.
    onB.get("/myapps");
    Map<String, String> form =
        Map.of(
            "form_id",
            formId(onA.get("/myapps").body()),
            "name",
            "Twice",
            "domain",
            "twice.example.com",
            "description",
            "");
    HttpResponse<String> first = onA.post("/myapps", form);
    HttpResponse<String> second = onB.post("/myapps", form);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(303);
    assertThat(second.statusCode()).as(second.body()).isEqualTo(303);
    assertThat(second.headers().firstValue("Location"))
        .isEqualTo(first.headers().firstValue("Location"));
    JsonNode apps = JSON.readTree(ApiClient.forEmail(b, dev).get("/api/apps").body()).get("apps");
    assertThat(apps.size()).as("%s", apps).isEqualTo(1);
    // A new form (a new id) is a new application: refused here, one being the limit.
    Map<String, String> another = new java.util.HashMap<>(form);
    another.put("form_id", formId(onB.get("/myapps").body()));
    HttpResponse<String> third = onB.post("/myapps", another);
    assertThat(third.statusCode()).as(third.body()).isEqualTo(409);
  }
}
