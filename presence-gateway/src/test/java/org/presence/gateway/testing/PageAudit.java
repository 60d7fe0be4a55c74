package org.presence.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chromium.HasCdp;

/**
 * What the browser tests check on every page they visit: axe-core finds no accessibility violation
 * (at desktop and at phone width), the page does not scroll sideways at phone width and its
 * controls (buttons, fields, disclosures) are at least 44 px tall there, and a screenshot of the
 * whole page at each width lands in {@code target/screenshots} for a reviewer.
 *
 * <p>axe-core comes from the npm registry: {@code npm pack axe-core@VERSION} into a cache directory
 * ({@code PRESENCE_TEST_AXE_CACHE}, by default {@code ~/.cache/presence-test}) the first time, then
 * from there. {@code PRESENCE_TEST_AXE} may name an {@code axe.min.js} instead. The script is
 * injected through WebDriver (the DevTools protocol, which the pages' Content-Security-Policy does
 * not govern), never through the page.
 */
public final class PageAudit {
  /**
   * The axe-core release the tests run, pinned so that a new rule never fails a build by itself.
   */
  public static final String AXE_VERSION = "4.10.3";

  /** Desktop and phone widths, in CSS pixels. */
  public static final int DESKTOP = 1280;

  public static final int PHONE = 390;

  private static final Path SCREENSHOTS = Path.of("target", "screenshots");
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static volatile String axeSource;

  private PageAudit() {}

  /** Longest screenshot, in CSS pixels: a page taller than this is cut there. */
  static final int MAX_SCREENSHOT_HEIGHT = 16_384;

  /**
   * Audits the page {@code browser} shows: axe-core at desktop and phone width, no sideways scroll
   * at phone width, and a screenshot of the whole page (not only the window) at each, named {@code
   * <n>-<name>-<width>.png}; returns the screenshots' files, desktop first.
   */
  public static List<Path> check(WebDriver browser, String name) {
    String axe = axe();
    String prefix =
        String.format("%03d-%s", COUNTER.incrementAndGet(), name.replaceAll("[^A-Za-z0-9]+", "-"));
    List<Path> shots = new java.util.ArrayList<>();
    try {
      for (int width : new int[] {DESKTOP, PHONE}) {
        browser.manage().window().setSize(new Dimension(width, 900));
        JavascriptExecutor js = (JavascriptExecutor) browser;
        shots.add(screenshot(browser, prefix + "-" + width));
        if (width == PHONE) {
          Object wide =
              js.executeScript(
                  "return document.documentElement.scrollWidth > window.innerWidth"
                      + " ? document.documentElement.scrollWidth : 0");
          assertThat(((Number) wide).longValue())
              .as("%s (%s) scrolls sideways at %d px", name, browser.getCurrentUrl(), width)
              .isZero();
          @SuppressWarnings("unchecked")
          List<String> small =
              (List<String>)
                  js.executeScript(
                      "return Array.from(document.querySelectorAll("
                          + "'button, select, summary, input:not([type=hidden])'))"
                          + ".filter(e => e.getClientRects().length > 0)"
                          + ".filter(e => e.getBoundingClientRect().height < 44)"
                          + ".map(e => e.outerHTML.substring(0, 80)"
                          + " + ' ' + e.getBoundingClientRect().height + 'px')");
          assertThat(small)
              .as(
                  "%s (%s): controls under 44 px tall at %d px",
                  name, browser.getCurrentUrl(), width)
              .isEmpty();
        }
        assertThat(violations(js, axe))
            .as("axe-core on %s (%s) at %d px", name, browser.getCurrentUrl(), width)
            .isEmpty();
      }
    } finally {
      browser.manage().window().setSize(new Dimension(DESKTOP, 900));
    }
    return shots;
  }

  @SuppressWarnings("unchecked")
  private static List<String> violations(JavascriptExecutor js, String axe) {
    js.executeScript("if (!window.axe) { " + axe + "\n}");
    Object result =
        js.executeAsyncScript(
            "const done = arguments[arguments.length - 1];"
                + "axe.run(document, {resultTypes: ['violations']}).then("
                + "  r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '"
                + "    + v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' | '))),"
                + "  e => done(['axe failed: ' + e]));");
    return (List<String>) result;
  }

  /**
   * Saves a screenshot of the whole page, down to its end (at most {@link #MAX_SCREENSHOT_HEIGHT}
   * px), through the DevTools protocol's {@code Page.captureScreenshot} beyond the viewport; a
   * driver without the protocol saves the visible window.
   */
  private static Path screenshot(WebDriver browser, String name) {
    Path file = SCREENSHOTS.resolve(name + ".png");
    try {
      Files.createDirectories(SCREENSHOTS);
      byte[] png;
      if (browser instanceof HasCdp cdp) {
        Object size =
            ((JavascriptExecutor) browser)
                .executeScript(
                    "const e = document.documentElement;"
                        + " return [e.clientWidth, Math.max(e.scrollHeight, document.body"
                        + " ? document.body.scrollHeight : 0)];");
        @SuppressWarnings("unchecked")
        List<Number> wh = (List<Number>) size;
        long height = Math.min(MAX_SCREENSHOT_HEIGHT, wh.get(1).longValue());
        Map<String, Object> shot =
            cdp.executeCdpCommand(
                "Page.captureScreenshot",
                Map.of(
                    "format",
                    "png",
                    "captureBeyondViewport",
                    true,
                    "clip",
                    Map.of("x", 0, "y", 0, "width", wh.get(0), "height", height, "scale", 1)));
        png = Base64.getDecoder().decode((String) shot.get("data"));
      } else {
        png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
      }
      Files.write(file, png);
      return file;
    } catch (IOException e) {
      throw new IllegalStateException("cannot save the screenshot " + name, e);
    }
  }

  /** The source of {@code axe.min.js}, fetched with npm the first time. */
  public static String axe() {
    String s = axeSource;
    if (s == null) {
      synchronized (PageAudit.class) {
        s = axeSource;
        if (s == null) {
          try {
            s = Files.readString(axeFile(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new IllegalStateException("cannot read axe-core", e);
          }
          axeSource = s;
        }
      }
    }
    return s;
  }

  private static Path axeFile() throws IOException {
    String named = System.getenv("PRESENCE_TEST_AXE");
    if (named != null && !named.isBlank()) {
      return Path.of(named);
    }
    String cacheDir = System.getenv("PRESENCE_TEST_AXE_CACHE");
    Path cache =
        cacheDir != null && !cacheDir.isBlank()
            ? Path.of(cacheDir)
            : Path.of(System.getProperty("user.home"), ".cache", "presence-test");
    Path file = cache.resolve("axe-core-" + AXE_VERSION + ".min.js");
    if (Files.isRegularFile(file)) {
      return file;
    }
    Files.createDirectories(cache);
    Path work = Files.createTempDirectory(cache, "axe-core-");
    try {
      run(work, "npm", "pack", "--silent", "axe-core@" + AXE_VERSION);
      Path tarball = work.resolve("axe-core-" + AXE_VERSION + ".tgz");
      run(work, "tar", "-xzf", tarball.toString(), "package/axe.min.js");
      Files.move(
          work.resolve("package").resolve("axe.min.js"),
          file,
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
      return file;
    } finally {
      try (var paths = Files.walk(work)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void run(Path dir, String... command) throws IOException {
    Process p =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("out.log").toFile())
            .start();
    try {
      if (!p.waitFor(Duration.ofMinutes(3).toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " took over 3 minutes");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          String.join(" ", command)
              + " failed: "
              + Files.readString(dir.resolve("out.log"), StandardCharsets.UTF_8));
    }
  }
}
