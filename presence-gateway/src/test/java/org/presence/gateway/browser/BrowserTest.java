package org.presence.gateway.browser;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.presence.gateway.testing.HeadlessChromium;
import org.presence.gateway.testing.TestNode;

/**
 * A real headless Chromium and a node of the test's own, started before each test and closed after
 * it (JUnit runs a subclass's own set-up after this one and its clean-up before). The node is the
 * embedded default unless the class overrides {@link #startNode}.
 */
abstract class BrowserTest {
  @TempDir Path dataDir;
  @TempDir Path profile;
  TestNode node;
  WebDriver browser;

  /** The node the browser talks to; called after the browser started. */
  TestNode startNode() throws Exception {
    return TestNode.embedded(dataDir);
  }

  @BeforeEach
  void startBrowserAndNode() throws Exception {
    browser = HeadlessChromium.start(profile);
    node = startNode();
  }

  @AfterEach
  void stopBrowserAndNode() {
    if (browser != null) {
      browser.quit();
    }
    if (node != null) {
      node.close();
    }
  }

  /** The text of the element with {@code id} on the page shown. */
  String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }
}
