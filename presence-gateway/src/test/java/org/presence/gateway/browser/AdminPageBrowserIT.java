package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.presence.gateway.testing.PageAudit;
import org.presence.gateway.testing.TestNode;

/**
 * The admin page in headless Chromium: its script runs under the page's strict
 * Content-Security-Policy, sends the token the operator typed, and shows the node list and the
 * health; a wrong token is shown as refused.
 */
class AdminPageBrowserIT extends BrowserTest {
  private static final String TOKEN = "browser-admin-token-0123456789abcdef";

  @Override
  TestNode startNode() throws Exception {
    Files.createDirectories(dataDir);
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("admin.token", TOKEN);
    return TestNode.start(s, r -> {});
  }

  private void type(String id, String value) {
    WebElement e = browser.findElement(By.id(id));
    e.clear();
    e.sendKeys(value);
  }

  @Test
  void operatorListsNodesAndHealth() {
    browser.get("http://127.0.0.1:" + node.adminPort() + "/admin");
    assertThat(browser.getTitle()).isEqualTo("Presence admin");

    type("token", "not-the-token");
    browser.findElement(By.id("nodes")).click();
    await().atMost(Duration.ofSeconds(30)).until(() -> text("status").endsWith(": 401"));
    assertThat(browser.findElement(By.id("node-table")).isDisplayed()).isFalse();

    type("token", TOKEN);
    browser.findElement(By.id("nodes")).click();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> !browser.findElements(By.cssSelector("#node-rows tr.node")).isEmpty());
    List<WebElement> cells =
        browser.findElement(By.cssSelector("#node-rows tr.node")).findElements(By.tagName("td"));
    assertThat(cells.get(0).getText()).isEqualTo("test-node");
    assertThat(cells.get(2).getText()).isEqualTo("yes");
    PageAudit.check(browser, "admin");

    browser.findElement(By.id("health")).click();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> text("status").equals("GET /admin/api/health: 200"));
    assertThat(text("out")).contains("\"status\": \"ok\"");

    // Nothing on the page broke its policy.
    List<LogEntry> console = browser.manage().logs().get(LogType.BROWSER).getAll();
    assertThat(console)
        .noneMatch(
            e ->
                e.getLevel().intValue() >= Level.SEVERE.intValue()
                    && e.getMessage().contains("Content Security Policy"));
  }
}
