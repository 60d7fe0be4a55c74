package org.presence.gateway.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.presence.store.testing.Backends;

/**
 * Debian's headless Chromium driven through Debian's chromedriver (both named by {@code
 * bin/test-all}, so nothing is ever downloaded), for browser tests with a private profile.
 */
public final class HeadlessChromium {
  private static final String CHROMIUM = "PRESENCE_TEST_CHROMIUM";
  private static final String CHROMEDRIVER = "PRESENCE_TEST_CHROMEDRIVER";

  private HeadlessChromium() {}

  private static String executable(String variable) {
    String path = System.getenv(variable);
    if (path == null || path.isBlank() || !Files.isExecutable(Path.of(path))) {
      String message = variable + " does not name an executable: run bin/test-all";
      if (System.getenv(Backends.REQUIRE) != null) {
        fail(message);
      }
      assumeTrue(false, message);
    }
    return path;
  }

  /**
   * A browser with its profile in {@code profile}; skips (or fails under bin/test-all) without one.
   */
  public static WebDriver start(Path profile) {
    String chromium = executable(CHROMIUM);
    String chromedriver = executable(CHROMEDRIVER);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium);
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(chromedriver))
            .usingAnyFreePort()
            .build();
    WebDriver browser = new ChromeDriver(service, options);
    browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
    return browser;
  }
}
