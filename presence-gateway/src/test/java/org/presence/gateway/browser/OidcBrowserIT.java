package org.presence.gateway.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.presence.gateway.testing.PageAudit;
import org.presence.gateway.testing.TestNode;

/**
 * Production sign-in in a real browser: a node configured with an OpenID Connect provider (a real
 * one, mock-oauth2-server on loopback, with its interactive login page), Debian's headless
 * Chromium. The newcomer opens the demo, signs in through the provider's login page, grants the
 * demo application on the consent page, sees the session in the settings and signs out.
 */
class OidcBrowserIT extends BrowserTest {
  MockOAuth2Server provider;

  /** The provider first: the node reads its discovery document at start. */
  @Override
  TestNode startNode() {
    provider = new MockOAuth2Server(OAuth2Config.Companion.fromJson("{\"interactiveLogin\":true}"));
    provider.start(InetAddress.getLoopbackAddress(), 0);
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("identity.oidc.issuer", provider.issuerUrl("default").toString());
    s.put("identity.oidc.client-id", "presence-browser-test");
    s.put("identity.oidc.client-secret", "not-a-secret-at-the-mock");
    s.put("identity.oidc.timeout", "30s");
    s.put("outbound.allow-loopback", "true");
    return TestNode.start(s, r -> {});
  }

  @AfterEach
  void stopProvider() {
    if (provider != null) {
      provider.shutdown();
    }
  }

  private void waitFor(By what) {
    await().atMost(Duration.ofSeconds(30)).until(() -> !browser.findElements(what).isEmpty());
  }

  @Test
  void newcomer_signsInThroughTheProvider_grantsTheDemoApp_andSignsOut() {
    browser.get(node.uri("/demo").toString());
    browser.findElement(By.id("demo-sign-in")).click();
    waitFor(By.id("oidc-sign-in"));
    PageAudit.check(browser, "oidc-signin");
    // No passwordless sign-in and no token form where a provider is configured.
    assertThat(browser.findElements(By.id("dev-sign-in"))).isEmpty();
    assertThat(browser.findElements(By.id("token-sign-in"))).isEmpty();
    browser.findElement(By.id("oidc-sign-in")).click();

    // The provider's own login page.
    waitFor(By.name("username"));
    assertThat(browser.getCurrentUrl()).startsWith(provider.issuerUrl("default").toString());
    browser.findElement(By.name("username")).sendKeys("newcomer");
    browser.findElement(By.name("username")).submit();

    // Back at the node, signed in, on the page the sign-in started from.
    waitFor(By.id("demo-grant"));
    PageAudit.check(browser, "oidc-demo");
    assertThat(browser.getCurrentUrl()).isEqualTo(node.uri("/demo").toString());
    assertThat(browser.findElements(By.id("signed-in-as"))).isNotEmpty();
    browser.findElement(By.id("demo-grant")).click();
    waitFor(By.id("allow"));
    PageAudit.check(browser, "oidc-consent");
    assertThat(text("consent-app")).isEqualTo("Presence demo");
    browser.findElement(By.id("allow")).click();
    waitFor(By.id("presence-status"));
    assertThat(text("demo-puid")).matches("[A-Za-z0-9_-]{43}");

    browser.get(node.uri("/settings").toString());
    waitFor(By.id("page-sessions"));
    PageAudit.check(browser, "oidc-settings");
    assertThat(browser.findElement(By.id("page-sessions")).getText()).contains("(this browser)");
    assertThat(browser.findElement(By.cssSelector("tr.grant .user-string")).getText()).isNotEmpty();

    browser.findElement(By.id("sign-out")).click();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> browser.findElements(By.id("signed-in-as")).isEmpty());
    browser.get(node.uri("/settings").toString());
    assertThat(browser.getCurrentUrl()).contains("/signin?next=");
  }
}
