package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.PageAudit;
import org.presence.store.permission.PuidState;

/**
 * The whole applications flow in a real browser: Debian's headless Chromium, driven through
 * Debian's chromedriver by Selenium (both executables named explicitly, so nothing is ever
 * downloaded). A developer registers an application, proves its domain against a stub site on
 * loopback, activates it and reads its key; a user signs in from the consent link, allows, lands
 * back on the site with the PUID, pauses and revokes in the settings page. No page uses JavaScript:
 * the browser only follows links and submits forms.
 */
class BrowserFlowIT extends BrowserTest {

  DomainStub site;

  @BeforeEach
  void startSite() {
    site = DomainStub.start();
    site.serve(
        "/presence/callback",
        new DomainStub.Answer(
            200,
            "text/html; charset=utf-8",
            "<!doctype html><title>BeerChat</title><h1 id=\"back\">Back at BeerChat</h1>",
            Map.of()));
  }

  @AfterEach
  void stopSite() {
    if (site != null) {
      site.close();
    }
  }

  private void open(String path) {
    browser.get(node.uri(path).toString());
    audit();
  }

  /** Runs axe-core on the page shown, when it is one of the node's, and saves its screenshots. */
  private void audit() {
    String url = browser.getCurrentUrl();
    String base = node.server().baseUrl();
    if (url.startsWith(base)) {
      PageAudit.check(browser, "flow" + url.substring(base.length()).replaceAll("\\?.*", ""));
    }
  }

  private void click(String id) {
    submit(browser.findElement(By.id(id)));
  }

  /**
   * Clicks a submit button and waits until the browser has left the page (its old root element is
   * gone), so the next look is at the answer and never at the page the form was on.
   */
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
    audit();
  }

  private void signIn(String email) {
    browser.findElement(By.id("email")).sendKeys(email);
    click("dev-sign-in");
    assertThat(text("signed-in-as")).isEqualTo(email);
  }

  private PuidState puidState(long appId, String puid) throws Exception {
    return node.server()
        .appFeatures()
        .grants()
        .puidState(appId, puid)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  private void screenshot(String name) throws Exception {
    Path dir = Path.of("target", "browser-screenshots");
    Files.createDirectories(dir);
    byte[] png = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
    Files.write(dir.resolve(name + ".png"), png);
  }

  @Test
  void registerVerifyActivateGrantPauseRevoke() throws Exception {
    // The developer.
    open("/myapps");
    assertThat(browser.getCurrentUrl()).contains("/signin?next=");
    assertThat(browser.getPageSource()).contains("For development only.");
    signIn("dev@example.com");
    assertThat(browser.getCurrentUrl()).endsWith("/myapps");
    assertThat(text("signed-in-as")).isEqualTo("dev@example.com");

    browser.findElement(By.id("name")).sendKeys("BeerChat");
    browser.findElement(By.id("domain")).sendKeys(site.domain());
    browser.findElement(By.id("description")).sendKeys("Chat about beer");
    click("register-app");
    assertThat(text("app-name")).isEqualTo("BeerChat");
    assertThat(text("app-state")).isEqualTo("registered");
    long appId = Long.parseLong(text("app-id"));
    String proof = browser.findElement(By.id("verification-key")).getAttribute("value");
    assertThat(proof).hasSize(1024);
    assertThat(text("verification-url")).isEqualTo("https://" + site.domain() + "/__presence");

    site.serveKey(proof);
    click("verify");
    assertThat(text("notice")).contains("Domain verified");
    assertThat(text("app-state")).isEqualTo("verified");

    click("activate");
    String key = browser.findElement(By.id("api-key")).getAttribute("value");
    assertThat(key).hasSize(1024);
    assertThat(text("app-state")).isEqualTo("active");
    node.server()
        .appFeatures()
        .apiKeys()
        .authenticate(appId, key)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    screenshot("1-activated");
    String grantUrl = text("grant-url");
    assertThat(grantUrl).startsWith(node.server().baseUrl() + "/" + appId + "/grant?");
    click("sign-out");
    assertThat(browser.findElements(By.id("signed-in-as"))).isEmpty();

    // The user, arriving from the application's "Authorize" link.
    String callback = "http://" + site.domain() + "/presence/callback";
    open(
        "/"
            + appId
            + "/grant?redirect="
            + URLEncoder.encode(callback, StandardCharsets.UTF_8)
            + "&id=Fred");
    assertThat(browser.getCurrentUrl()).contains("/signin?next=");
    signIn("marge@example.com");
    assertThat(text("consent-app")).isEqualTo("BeerChat");
    assertThat(text("consent-domain")).isEqualTo(site.domain());
    assertThat(text("consent-user")).isEqualTo("Fred");
    assertThat(browser.findElements(By.id("consent-existing"))).isEmpty();
    // Allow is the primary action and does not look like Deny.
    assertThat(browser.findElement(By.id("allow")).getCssValue("background-color"))
        .isNotEqualTo(browser.findElement(By.id("deny")).getCssValue("background-color"));
    screenshot("2-consent");
    click("allow");

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> browser.getCurrentUrl().startsWith(callback));
    assertThat(text("back")).isEqualTo("Back at BeerChat");
    String puid = browser.getCurrentUrl().substring((callback + "?puid=").length());
    assertThat(puid).matches("[A-Za-z0-9_-]{43}");
    assertThat(site.requests()).anyMatch(r -> r.startsWith("GET /presence/callback?puid=" + puid));
    assertThat(puidState(appId, puid)).isEqualTo(PuidState.ACTIVE);

    // Asked again, the user learns they already share with BeerChat, and as whom.
    open(
        "/"
            + appId
            + "/grant?redirect="
            + URLEncoder.encode(callback, StandardCharsets.UTF_8)
            + "&id=Fred");
    assertThat(text("consent-existing"))
        .startsWith("You already share your presence with BeerChat as Fred.");

    // The settings page: pause, then revoke.
    open("/settings");
    assertThat(browser.findElement(By.cssSelector("tr.grant .user-string")).getText())
        .isEqualTo("Fred");
    assertThat(browser.findElement(By.cssSelector("tr.grant .grant-state")).getText())
        .isEqualTo("On");
    // Each action button names its row for a screen reader.
    assertThat(browser.findElement(By.cssSelector("tr.grant button.pause")).getAccessibleName())
        .isEqualTo("Pause BeerChat");
    assertThat(
            browser
                .findElement(By.cssSelector("tr.grant details.confirm summary"))
                .getAccessibleName())
        .isEqualTo("Revoke… BeerChat");
    submit(browser.findElement(By.cssSelector("tr.grant button.pause")));
    assertThat(browser.findElement(By.cssSelector("tr.grant .grant-state")).getText())
        .isEqualTo("Paused");
    assertThat(puidState(appId, puid)).isEqualTo(PuidState.PAUSED);
    screenshot("3-paused");

    submit(browser.findElement(By.cssSelector("tr.grant button.resume")));
    assertThat(browser.findElement(By.cssSelector("tr.grant .grant-state")).getText())
        .isEqualTo("On");
    assertThat(puidState(appId, puid)).isEqualTo(PuidState.ACTIVE);

    // Revoke asks first, without script: the disclosure opens on the confirmation, which changes
    // nothing until its own button is pressed.
    assertThat(browser.findElement(By.cssSelector("tr.grant button.revoke")).isDisplayed())
        .isFalse();
    browser.findElement(By.cssSelector("tr.grant details.confirm summary")).click();
    WebElement confirm = browser.findElement(By.cssSelector("tr.grant button.revoke"));
    assertThat(confirm.isDisplayed()).isTrue();
    assertThat(confirm.getAccessibleName()).isEqualTo("Revoke BeerChat");
    assertThat(confirm.getCssValue("background-color")).isEqualTo("rgba(170, 0, 0, 1)");
    assertThat(
            browser
                .findElement(By.cssSelector("tr.grant button.pause"))
                .getCssValue("background-color"))
        .isNotEqualTo(confirm.getCssValue("background-color"));
    assertThat(puidState(appId, puid)).isEqualTo(PuidState.ACTIVE);
    PageAudit.check(browser, "flow-settings-revoke-confirm");
    submit(confirm);
    assertThat(text("no-grants")).isEqualTo("No application sees your presence.");
    assertThat(puidState(appId, puid)).isEqualTo(PuidState.REVOKED);
  }
}
