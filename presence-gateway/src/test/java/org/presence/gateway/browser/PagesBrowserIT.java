package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.presence.gateway.testing.PageAudit;

/**
 * The pages around the journeys, in a real browser: the home page, the error pages a browser gets
 * for a wrong address, a failed sign-in, and what a keyboard user meets first (the skip link and a
 * focus ring that shows). Every page passes {@link PageAudit}.
 */
class PagesBrowserIT extends BrowserTest {
  private void open(String path, String name) {
    browser.get(node.uri(path).toString());
    PageAudit.check(browser, name);
  }

  private String css(WebElement e, String property) {
    return e.getCssValue(property);
  }

  @Test
  void homePage_isTitledPresence_hasASkipLinkFirst_andAFocusRingThatShows() {
    open("/", "home");
    assertThat(browser.getTitle()).isEqualTo("Presence");

    // The first Tab lands on the skip link, which shows itself; following it moves to the content.
    browser.findElement(By.tagName("body")).sendKeys(Keys.TAB);
    WebElement skip = browser.switchTo().activeElement();
    assertThat(skip.getText()).isEqualTo("Skip to content");
    assertThat(skip.getAttribute("href")).endsWith("#main");
    assertThat(skip.getRect().getY()).isGreaterThanOrEqualTo(0);
    assertThat(css(skip, "outline-style")).isEqualTo("solid");
    assertThat(css(skip, "outline-width")).isEqualTo("3px");

    // The next Tab stops are the header's links: each with a visible ring.
    skip.sendKeys(Keys.TAB);
    WebElement brand = browser.switchTo().activeElement();
    assertThat(brand.getText()).isEqualTo("Presence");
    assertThat(css(brand, "outline-style")).isEqualTo("solid");
    assertThat(brand.getRect().getHeight()).isGreaterThanOrEqualTo(44);

    // Every page asks for the icon; it is there (no 404 in the console).
    for (LogEntry e : browser.manage().logs().get(LogType.BROWSER)) {
      assertThat(e.getLevel()).as("browser console: %s", e.getMessage()).isNotEqualTo(Level.SEVERE);
    }
    // The icon itself.
    browser.get(node.uri("/favicon.ico").toString());
    assertThat(browser.getPageSource()).contains("<svg").doesNotContain("Not found");
  }

  @Test
  void unknownAddress_showsAnErrorPageInWords_withTheDetailBehindADisclosure() {
    open("/no/such/page", "not-found");
    assertThat(browser.getTitle()).isEqualTo("Not Found (404) · Presence");
    assertThat(text("error-headline")).isEqualTo("There is no page at this address.");
    assertThat(browser.findElement(By.tagName("main")).getText()).doesNotContain("errno");
    WebElement details = browser.findElement(By.id("error-details"));
    assertThat(details.getAttribute("open")).isNull();
    details.findElement(By.tagName("summary")).click();
    assertThat(text("error-reason")).isEqualTo("Not found");
    assertThat(details.getText()).contains("HTTP 404");
  }

  @Test
  void failedSignIn_saysWhatHappenedInWords_withTheTechnicalReasonOneClickAway() {
    open("/signin", "signin");
    browser.findElement(By.id("token")).sendKeys("not a token at all");
    WebElement page = browser.findElement(By.tagName("html"));
    browser.findElement(By.id("token-sign-in")).click();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> !browser.findElements(By.id("error")).isEmpty() && !page.equals(html()));
    PageAudit.check(browser, "signin-failed");
    String shown = text("error");
    assertThat(shown).startsWith("We could not sign you in");
    WebElement detail = browser.findElement(By.id("error-detail"));
    assertThat(detail.isDisplayed()).isFalse();
    browser.findElement(By.cssSelector("#error summary")).click();
    assertThat(detail.isDisplayed()).isTrue();
    assertThat(detail.getText()).isNotBlank();
    assertThat(shown).doesNotContain("JWT").doesNotContain("errno");
  }

  private WebElement html() {
    return browser.findElement(By.tagName("html"));
  }
}
