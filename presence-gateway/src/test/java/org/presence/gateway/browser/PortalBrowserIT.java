package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.PageAudit;

/**
 * The developer portal in a real browser (issue 19): the Domain field's help and a full URL typed
 * for it, copy buttons for the ids and keys, the activation notice on a page that survives a
 * refresh (POST-redirect-GET), the webhook form keeping what was typed, the webhook's delivery log
 * with "Send a test call", and the endpoints grouped by who uses them. Every page passes {@link
 * PageAudit}.
 */
class PortalBrowserIT extends BrowserTest {
  DomainStub site;

  @BeforeEach
  void startSite() {
    site = DomainStub.start();
  }

  @AfterEach
  void stopSite() {
    if (site != null) {
      site.close();
    }
  }

  private void audit(String name) {
    PageAudit.check(browser, "portal-" + name);
  }

  /** Clicks and waits until the browser has left the page. */
  private void submit(String id) {
    WebElement oldPage = browser.findElement(By.tagName("html"));
    browser.findElement(By.id(id)).click();
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

  private Object js(String script, Object... args) {
    return ((JavascriptExecutor) browser).executeScript(script, args);
  }

  /** Presses a copy button and checks it said so and left the whole text selected. */
  private void copies(String button, String target, int length) {
    WebElement b = browser.findElement(By.id(button));
    assertThat(b.isDisplayed()).as("%s is shown once the script runs", button).isTrue();
    b.click();
    await().atMost(Duration.ofSeconds(10)).until(() -> !text(button + "-status").isEmpty());
    assertThat(text(button + "-status"))
        .isIn("Copied.", "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    Object selected =
        js(
            "const e = document.getElementById(arguments[0]);"
                + " return e.select ? e.value.substring(e.selectionStart, e.selectionEnd)"
                + " : window.getSelection().toString();",
            target);
    assertThat((String) selected).hasSize(length);
  }

  @Test
  void register_withAUrlForDomain_activate_copy_refresh_webhookLogAndTestCall() throws Exception {
    browser.get(node.uri("/myapps").toString());
    browser.findElement(By.id("email")).sendKeys("dev@example.com");
    submit("dev-sign-in");
    audit("myapps");

    // The Domain field says what to type and that /__presence must be served.
    WebElement domain = browser.findElement(By.id("domain"));
    assertThat(domain.getAttribute("aria-describedby")).isEqualTo("domain-help");
    assertThat(text("domain-help"))
        .contains("chat.example.com")
        .contains("https://<domain>/__presence");

    // A URL with a path is refused in words (not "bad port"), keeping what was typed.
    browser.findElement(By.id("name")).sendKeys("BeerChat");
    domain.sendKeys("https://" + site.domain() + "/chat");
    submit("register-app");
    assertThat(text("error")).contains("type only the domain").doesNotContain("port");
    assertThat(browser.findElement(By.id("domain")).getAttribute("value"))
        .isEqualTo("https://" + site.domain() + "/chat");
    audit("myapps-refused");

    // A full URL without a path is understood as its host and port.
    browser.findElement(By.id("domain")).clear();
    browser.findElement(By.id("domain")).sendKeys("http://" + site.domain() + "/");
    submit("register-app");
    assertThat(text("app-domain")).isEqualTo(site.domain());
    long appId = Long.parseLong(text("app-id"));
    audit("app-registered");

    // Copy buttons: shown by the page's script, they copy (or select) the whole text.
    copies("copy-app-id", "app-id", Long.toString(appId).length());
    copies("copy-verification-key", "verification-key", 1024);
    assertThat(browser.findElements(By.id("copy-api-key"))).isEmpty();

    site.serveKey(browser.findElement(By.id("verification-key")).getAttribute("value"));
    submit("verify");
    submit("activate");

    // Activation redirects to the page (POST-redirect-GET), says so, and shows the key once.
    assertThat(browser.getCurrentUrl()).endsWith("/myapps/" + appId + "?done=activated");
    assertThat(text("notice")).startsWith("Activated.");
    String key = browser.findElement(By.id("api-key")).getAttribute("value");
    assertThat(key).hasSize(1024);
    node.server()
        .appFeatures()
        .apiKeys()
        .authenticate(appId, key)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    copies("copy-api-key", "api-key", 1024);
    audit("app-activated");

    // A refresh shows the page again: no "already active", and the key is not shown again.
    WebElement before = browser.findElement(By.tagName("html"));
    browser.navigate().refresh();
    await().atMost(Duration.ofSeconds(30)).until(() -> isStale(before));
    assertThat(text("app-state")).isEqualTo("active");
    assertThat(text("notice")).startsWith("Activated.");
    assertThat(browser.findElements(By.id("error"))).isEmpty();
    assertThat(browser.findElements(By.id("api-key"))).isEmpty();
    assertThat(browser.getPageSource()).doesNotContainIgnoringCase("already");

    // Regenerating asks first (a disclosure, no script): the button that posts is hidden until
    // "Regenerate key…" is opened. Then it works the same way.
    assertThat(browser.findElement(By.id("regenerate")).isDisplayed()).isFalse();
    assertThat(browser.findElement(By.id("deactivate")).isDisplayed()).isFalse();
    browser.findElement(By.cssSelector("#confirm-regenerate summary")).click();
    assertThat(text("confirm-regenerate")).contains("stops working at once");
    audit("app-confirm-regenerate");
    submit("regenerate");
    assertThat(browser.getCurrentUrl()).endsWith("?done=regenerated");
    String second = browser.findElement(By.id("api-key")).getAttribute("value");
    assertThat(second).hasSize(1024).isNotEqualTo(key);

    // The webhook form keeps what was typed when it is refused.
    browser.findElement(By.id("webhook-url")).sendKeys("ftp://" + site.domain() + "/hook");
    submit("save-webhook");
    assertThat(browser.findElements(By.id("error"))).isNotEmpty();
    assertThat(browser.findElement(By.id("webhook-url")).getAttribute("value"))
        .isEqualTo("ftp://" + site.domain() + "/hook");
    assertThat(text("no-calls")).isEqualTo("No calls yet.");
    assertThat(browser.findElements(By.id("webhook-test"))).isEmpty();

    // "Send a test call" calls it now and the log shows the call: time, status, latency.
    site.serve("/hook", new DomainStub.Answer(204, null, "", Map.of()));
    WebElement url = browser.findElement(By.id("webhook-url"));
    url.clear();
    url.sendKeys("http://" + site.domain() + "/hook");
    submit("save-webhook");
    assertThat(text("notice")).isEqualTo("Webhook saved.");
    submit("webhook-test");
    assertThat(text("notice")).matches("Test call answered 204 in [0-9]+ ms\\.");
    assertThat(site.requests()).anyMatch(r -> r.startsWith("POST /hook"));
    WebElement call = browser.findElement(By.cssSelector("#calls tr.call"));
    assertThat(call.findElement(By.cssSelector("[data-label=Answer]")).getText()).isEqualTo("204");
    assertThat(call.findElement(By.cssSelector("[data-label=Took]")).getText())
        .matches("[0-9]+ ms");
    assertThat(call.findElement(By.cssSelector("[data-label=Time]")).getText()).endsWith("UTC");
    assertThat(call.findElement(By.cssSelector("[data-label=Carried]")).getText())
        .isEqualTo("test call");

    // A failing endpoint: the test call says so, in the log too.
    site.serve("/hook", new DomainStub.Answer(500, "text/plain", "down", Map.of()));
    submit("webhook-test");
    assertThat(text("error")).startsWith("The test call was answered 500");
    assertThat(browser.findElements(By.cssSelector("#calls tr.call"))).hasSize(2);
    assertThat(
            browser
                .findElement(By.cssSelector("#calls tr.call [data-label=Answer]"))
                .getAttribute("class"))
        .contains("call-failed");

    // The endpoints, grouped by who uses them.
    assertThat(browser.findElement(By.id("endpoints-users")).getText())
        .contains("For your users")
        .contains("/" + appId + "/grant");
    assertThat(browser.findElement(By.id("endpoints-service")).getText())
        .contains("For your service")
        .contains(text("updates-url"))
        .contains(text("stream-url"))
        .contains(text("notifications-url"));
    audit("app-webhook-log");
  }

  private static boolean isStale(WebElement e) {
    try {
      e.isEnabled();
      return false;
    } catch (StaleElementReferenceException x) {
      return true;
    }
  }
}
