package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.PageAudit;
import org.presence.gateway.testing.TestNode;

/**
 * The settings page and the device pairing page in a real browser (issue 19): a refused presence
 * policy is explained in the user's words and the form keeps what was chosen; contradictory
 * policies are refused; the notices after Pause, Resume and Revoke name the application; the {@code
 * /pair} page and the paired-devices table on {@code /settings} pass {@link PageAudit}; and the
 * audit's screenshots cover the whole page.
 */
class SettingsBrowserIT extends BrowserTest {
  private void submit(WebElement button) {
    WebElement oldPage = browser.findElement(By.tagName("html"));
    button.click();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              try {
                oldPage.isEnabled();
                return false;
              } catch (StaleElementReferenceException e) {
                return true;
              }
            });
  }

  private void submit(String id) {
    submit(browser.findElement(By.id(id)));
  }

  private void signIn(String path, String email) {
    browser.get(node.uri(path).toString());
    browser.findElement(By.id("email")).sendKeys(email);
    submit("dev-sign-in");
    assertThat(text("signed-in-as")).isEqualTo(email);
  }

  private void choose(String id, String minutes) {
    browser.findElement(By.cssSelector("#" + id + " option[value='" + minutes + "']")).click();
  }

  private String chosen(String id) {
    return browser.findElement(By.id(id)).getAttribute("value");
  }

  @Test
  void policy_refusedInWords_keepsWhatWasChosen_andContradictionsAreRefused() throws Exception {
    signIn("/settings", "marge@example.com");

    // Online for 20 minutes but away after 5: a contradiction, refused in words.
    choose("online", "20");
    choose("away", "5");
    browser.findElement(By.id("custom-status")).sendKeys("Brewing");
    submit("save-settings");
    assertThat(text("error"))
        .contains("online for 20 minutes")
        .contains("away after only 5")
        .doesNotContain("_minutes");
    // The form shows what was chosen and typed, not the saved values (5, 10, 25 and empty).
    assertThat(chosen("online")).isEqualTo("20");
    assertThat(chosen("away")).isEqualTo("5");
    assertThat(browser.findElement(By.id("custom-status")).getAttribute("value"))
        .isEqualTo("Brewing");
    assertThat(text("policy-unsaved")).startsWith("Not saved yet");
    // The technical reason is one click away.
    browser.findElement(By.cssSelector("#error summary")).click();
    assertThat(text("error-detail"))
        .isEqualTo("Invalid setting: away_after_minutes must not be below online_within_minutes");
    List<Path> shots = PageAudit.check(browser, "settings-refused");

    // The screenshots show the whole page, not only the window (900 px tall).
    long height =
        ((Number)
                ((org.openqa.selenium.JavascriptExecutor) browser)
                    .executeScript("return document.documentElement.scrollHeight"))
            .longValue();
    assertThat(height).isGreaterThan(900);
    BufferedImage desktop = ImageIO.read(shots.get(0).toFile());
    assertThat(desktop.getHeight()).isEqualTo((int) height);
    assertThat(ImageIO.read(shots.get(1).toFile()).getHeight()).isGreaterThan(desktop.getHeight());

    // Away no earlier than offline: refused too, in words.
    choose("online", "5");
    choose("away", "20");
    choose("offline", "10");
    submit("save-settings");
    assertThat(text("error"))
        .contains("offline after 10 minutes")
        .contains("away after 20")
        .doesNotContain("_minutes");
    assertThat(chosen("offline")).isEqualTo("10");

    // A policy that holds together is saved.
    choose("online", "10");
    choose("away", "15");
    choose("offline", "25");
    submit("save-settings");
    assertThat(text("notice")).isEqualTo("Settings saved.");
    assertThat(chosen("online")).isEqualTo("10");
    assertThat(chosen("away")).isEqualTo("15");
    assertThat(browser.findElement(By.id("custom-status")).getAttribute("value"))
        .isEqualTo("Brewing");

    // Too long a message: refused in words, what was typed kept.
    String longStatus = "s".repeat(141);
    WebElement status = browser.findElement(By.id("custom-status"));
    status.clear();
    ((org.openqa.selenium.JavascriptExecutor) browser)
        .executeScript("arguments[0].removeAttribute('maxlength')", status);
    status.sendKeys(longStatus);
    submit("save-settings");
    assertThat(text("error"))
        .startsWith("Your custom status is 141 characters long; it can be at most 140.");
    assertThat(browser.findElement(By.id("custom-status")).getAttribute("value"))
        .isEqualTo(longStatus);
  }

  @Test
  void pauseResumeRevoke_noticesNameTheApplication() throws Exception {
    try (DomainStub site = DomainStub.start()) {
      long appId = activeApp(site, "BeerChat");
      site.serve(
          "/cb",
          new DomainStub.Answer(200, "text/html", "<!doctype html><title>x</title>back", Map.of()));
      String callback = "http://" + site.domain() + "/cb";
      signIn(
          "/"
              + appId
              + "/grant?redirect="
              + URLEncoder.encode(callback, StandardCharsets.UTF_8)
              + "&id=Fred",
          "marge@example.com");
      submit("allow");

      browser.get(node.uri("/settings").toString());
      submit(browser.findElement(By.cssSelector("tr.grant button.pause")));
      assertThat(text("notice")).isEqualTo("Paused: BeerChat no longer sees your presence.");
      PageAudit.check(browser, "settings-paused");
      submit(browser.findElement(By.cssSelector("tr.grant button.resume")));
      assertThat(text("notice")).isEqualTo("Resumed: BeerChat sees your presence again.");
      browser.findElement(By.cssSelector("tr.grant details.confirm summary")).click();
      submit(browser.findElement(By.cssSelector("tr.grant button.revoke")));
      assertThat(text("notice"))
          .startsWith("Revoked: BeerChat has lost your presence for good")
          .doesNotContain("that application");

      // The application's name comes from the store, never from the address.
      browser.get(node.uri("/settings?done=pause&app=999999").toString());
      assertThat(text("notice")).isEqualTo("Paused: the application no longer sees your presence.");
    }
  }

  /**
   * Long unbroken names (an application's 100-character name, a 100-character user string, a
   * browser naming itself with 200 characters) wrap: at 1024x768 every row's Pause and Revoke stay
   * inside the window and nothing scrolls sideways; the audit checks phone width.
   */
  @Test
  void longUnbrokenNames_keepEveryRowsButtonsInTheWindow() throws Exception {
    try (DomainStub site = DomainStub.start()) {
      long longApp = activeApp(site, "A".repeat(100));
      long beer = activeApp(site, "BeerChat");
      site.serve(
          "/cb",
          new DomainStub.Answer(200, "text/html", "<!doctype html><title>x</title>back", Map.of()));
      String callback =
          URLEncoder.encode("http://" + site.domain() + "/cb", StandardCharsets.UTF_8);
      signIn(
          "/" + longApp + "/grant?redirect=" + callback + "&id=" + "B".repeat(100),
          "lu@example.com");
      PageAudit.check(browser, "consent-long-names");
      submit("allow");
      browser.get(node.uri("/" + beer + "/grant?redirect=" + callback + "&id=Fred").toString());
      submit("allow");
      // A second session of the same user, from a browser with a long unbroken name.
      new org.presence.gateway.testing.WebClient(node)
          .userAgent("U".repeat(3000))
          .signIn("lu@example.com");

      browser.manage().window().setSize(new org.openqa.selenium.Dimension(1024, 768));
      browser.get(node.uri("/settings").toString());
      org.openqa.selenium.JavascriptExecutor js = (org.openqa.selenium.JavascriptExecutor) browser;
      long inner = ((Number) js.executeScript("return window.innerWidth")).longValue();
      assertThat(
              ((Number) js.executeScript("return document.documentElement.scrollWidth"))
                  .longValue())
          .as("page width at 1024 px")
          .isLessThanOrEqualTo(inner);
      List<WebElement> rows = browser.findElements(By.cssSelector("tr.grant"));
      assertThat(rows).hasSize(2);
      for (WebElement row : rows) {
        for (String control : new String[] {"button.pause", "details.confirm summary"}) {
          WebElement e = row.findElement(By.cssSelector(control));
          assertThat(e.getRect().getX() + e.getRect().getWidth())
              .as("%s of row %s", control, row.getAttribute("data-app"))
              .isLessThanOrEqualTo((int) inner);
        }
      }
      WebElement agent =
          browser.findElement(By.cssSelector("tr.session td.user-agent[title^='UUU']"));
      assertThat(agent.getAttribute("title")).hasSize(200);
      assertThat(agent.getRect().getX() + agent.getRect().getWidth())
          .isLessThanOrEqualTo((int) inner);
      PageAudit.check(browser, "settings-long-names");

      // The developer's pages, with the long name.
      submit("sign-out");
      signIn("/myapps", "dev@example.com");
      browser.manage().window().setSize(new org.openqa.selenium.Dimension(1024, 768));
      browser.get(node.uri("/myapps").toString());
      assertThat(
              ((Number) js.executeScript("return document.documentElement.scrollWidth"))
                  .longValue())
          .as("/myapps width at 1024 px")
          .isLessThanOrEqualTo(inner);
      PageAudit.check(browser, "myapps-long-name");
      browser.get(node.uri("/myapps/" + longApp).toString());
      PageAudit.check(browser, "app-long-name");
    }
  }

  @Test
  void pairPage_andPairedDevicesTable_passTheAudit_andNameTheirRows() throws Exception {
    HttpResponse<String> r =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/oauth/device_authorization"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("client_id=presence-device"))
                .build());
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode authorization = new ObjectMapper().readTree(r.body());
    String code = authorization.get("user_code").asText();

    signIn("/pair?code=" + code, "pat@example.com");
    assertThat(browser.findElement(By.id("code")).getAttribute("value")).isEqualTo(code);
    PageAudit.check(browser, "pair");
    browser.findElement(By.id("name")).sendKeys("Pat's laptop");
    submit("approve");
    assertThat(text("notice")).startsWith("Approved: the device is pairing.");
    assertThat(text("no-devices")).contains("appears here once it finishes signing in");
    // The device fetches its tokens; from then on it is listed.
    HttpResponse<String> tokens =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/oauth/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "grant_type="
                            + URLEncoder.encode(
                                "urn:ietf:params:oauth:grant-type:device_code",
                                StandardCharsets.UTF_8)
                            + "&client_id=presence-device&device_code="
                            + authorization.get("device_code").asText()))
                .build());
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    browser.get(node.uri("/pair").toString());
    WebElement revokeHere =
        browser.findElement(By.cssSelector("#paired-devices button.revoke-device"));
    assertThat(revokeHere.getAccessibleName()).isEqualTo("Revoke Pat's laptop");
    PageAudit.check(browser, "pair-approved");

    browser.get(node.uri("/settings").toString());
    WebElement row = browser.findElement(By.cssSelector("#paired-devices tr.paired-device"));
    assertThat(row.getText()).contains("Pat's laptop");
    WebElement revoke = row.findElement(By.cssSelector("button.revoke-device"));
    assertThat(revoke.getAccessibleName()).isEqualTo("Revoke Pat's laptop");
    PageAudit.check(browser, "settings-paired-devices");
    submit(revoke);
    assertThat(text("notice")).startsWith("Device revoked");
    assertThat(browser.findElement(By.cssSelector("#paired-devices tr.paired-device")).getText())
        .contains("Revoked");
    PageAudit.check(browser, "settings-device-revoked");
  }

  /** Registers, proves and activates an application on {@code site} through the JSON API. */
  private long activeApp(DomainStub site, String name) throws Exception {
    String token = node.token("dev@example.com");
    ObjectMapper json = new ObjectMapper();
    JsonNode app =
        json.readTree(
            api(
                    token,
                    "POST",
                    "/api/apps",
                    "{\"name\":\"" + name + "\",\"domain\":\"" + site.domain() + "\"}")
                .body());
    long id = app.get("id").asLong();
    site.serveKey(app.get("verification_key").asText());
    assertThat(api(token, "POST", "/api/apps/" + id + "/verify", "").statusCode()).isEqualTo(200);
    assertThat(api(token, "POST", "/api/apps/" + id + "/activate", "").statusCode()).isEqualTo(200);
    return id;
  }

  private HttpResponse<String> api(String token, String method, String path, String body) {
    return TestNode.send(
        HttpRequest.newBuilder(node.uri(path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build());
  }
}
