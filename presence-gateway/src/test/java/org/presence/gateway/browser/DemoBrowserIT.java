package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.PageAudit;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * The demo a newcomer tries first, in a real browser on the embedded default: open {@code /demo},
 * sign in, grant the demo application on the consent page, and watch the page (its script, under
 * the page's Content-Security-Policy) show the presence a device reports, as it changes.
 */
class DemoBrowserIT extends BrowserTest {
  private void waitForPage(String id) {
    await().atMost(Duration.ofSeconds(30)).until(() -> !browser.findElements(By.id(id)).isEmpty());
    PageAudit.check(browser, "demo-" + id);
  }

  private void screenshot(String name) throws Exception {
    Path dir = Path.of("target", "browser-screenshots");
    Files.createDirectories(dir);
    Files.write(
        dir.resolve(name + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  @Test
  void newcomer_signsIn_grantsTheDemoApp_andWatchesTheirPresenceChangeLive() throws Exception {
    browser.get(node.uri("/").toString());
    waitForPage("home-demo");
    browser.findElement(By.id("home-demo")).click();
    waitForPage("demo-sign-in");
    browser.findElement(By.id("demo-sign-in")).click();
    waitForPage("dev-sign-in");
    browser.findElement(By.id("email")).sendKeys("newcomer@example.com");
    browser.findElement(By.id("dev-sign-in")).click();
    waitForPage("demo-grant");
    assertThat(text("demo-email")).isEqualTo("newcomer@example.com");
    browser.findElement(By.id("demo-grant")).click();
    waitForPage("allow");
    assertThat(text("consent-app")).isEqualTo("Presence demo");
    browser.findElement(By.id("allow")).click();
    waitForPage("presence-status");
    assertThat(text("demo-puid")).matches("[A-Za-z0-9_-]{43}");
    // The command to copy names this node's address and data dir (not the default ones).
    assertThat(text("demo-device-command"))
        .isEqualTo(
            "bin/presence device --email newcomer@example.com --url "
                + node.server().baseUrl()
                + " --data-dir "
                + dataDir.toAbsolutePath().normalize());
    // Screen readers hear the live status change without moving there.
    assertThat(browser.findElement(By.cssSelector(".demo-status")).getAttribute("aria-live"))
        .isEqualTo("polite");
    await().atMost(Duration.ofSeconds(30)).until(() -> text("presence-status").equals("offline"));
    screenshot("demo-1-granted");

    try (DeviceTestClient device =
        DeviceTestClient.connected(node, node.token("newcomer@example.com"), null, "laptop")) {
      assertThat(device.status(PresenceStatus.ONLINE, "trying Presence"))
          .isInstanceOf(DeviceMessage.Ack.class);
      await().atMost(Duration.ofSeconds(30)).until(() -> text("presence-status").equals("online"));
      assertThat(text("presence-message")).contains("trying Presence");
      screenshot("demo-2-online");
      assertThat(device.status(PresenceStatus.AWAY, null)).isInstanceOf(DeviceMessage.Ack.class);
      await().atMost(Duration.ofSeconds(30)).until(() -> text("presence-status").equals("away"));
      // Update numbers read in groups of three, and apart from the status in the log.
      assertThat(text("presence-seq")).matches("\\d{1,3}(\u202f\\d{3})+");
      assertThat(text("presence-log")).contains("away (update ");

      // "Send me a notification" does not reload the page: the log stays, the notice says where
      // it went, and its receipts join the log.
      int logged = browser.findElements(By.cssSelector("#presence-log li")).size();
      ((JavascriptExecutor) browser).executeScript("window.demoStayed = true;");
      browser.findElement(By.id("demo-notify")).click();
      // The notice says where it went; the delivered receipt may already have replaced it.
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> text("presence-log"),
              t -> t.contains("Notification sent: Sent to your connected device"));
      List<DeviceMessage.LiveNotification> got = device.notifications(1);
      assertThat(got.get(0).message())
          .isEqualTo("Hello from the Presence demo: this live notification reached your device.");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  text("presence-log")
                      .contains("Notification you just sent delivered to your device"));
      assertThat(
              device.request(
                  new DeviceMessage.Acknowledge(device.session(), List.of(got.get(0).id()))))
          .isInstanceOf(DeviceMessage.Ack.class);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> text("presence-log").contains("Notification you just sent acted on (ack)"));
      assertThat(text("demo-sent")).isEqualTo("Notification acted on (ack).");
      assertThat(((JavascriptExecutor) browser).executeScript("return window.demoStayed === true;"))
          .isEqualTo(true);
      assertThat(browser.getCurrentUrl()).doesNotContain("sent=");
      assertThat(browser.findElements(By.cssSelector("#presence-log li")).size())
          .isGreaterThan(logged);
      PageAudit.check(browser, "demo-notified");
      screenshot("demo-3-notified");
      // At phone width the device command (a long data dir) wraps: nothing scrolls sideways.
      browser.manage().window().setSize(new Dimension(390, 844));
      assertThat(
              ((JavascriptExecutor) browser)
                  .executeScript(
                      "return document.documentElement.scrollWidth"
                          + " <= document.documentElement.clientWidth;"))
          .isEqualTo(true);
      screenshot("demo-4-phone");
    }
    assertThat(browser.findElements(By.cssSelector("#presence-log li")).size())
        .isGreaterThanOrEqualTo(3);
    // No script error, no Content-Security-Policy violation and no missing favicon.
    for (LogEntry e : browser.manage().logs().get(LogType.BROWSER)) {
      assertThat(e.getLevel()).as("browser console: %s", e.getMessage()).isNotEqualTo(Level.SEVERE);
    }
  }
}
