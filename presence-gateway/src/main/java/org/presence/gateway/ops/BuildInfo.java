package org.presence.gateway.ops;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The version and commit this build came from, read once from resources the build writes ({@code
 * presence-version.properties} from the POM, {@code presence-git.properties} from git).
 */
public record BuildInfo(String version, String commit, boolean dirty, String buildTime) {
  private static final BuildInfo CURRENT = load();

  /** This build's information. */
  public static BuildInfo current() {
    return CURRENT;
  }

  private static BuildInfo load() {
    Properties v = read("presence-version.properties");
    Properties g = read("presence-git.properties");
    return new BuildInfo(
        v.getProperty("version", "unknown"),
        g.getProperty("git.commit.id", "unknown"),
        Boolean.parseBoolean(g.getProperty("git.dirty", "false")),
        g.getProperty("git.build.time", ""));
  }

  private static Properties read(String resource) {
    Properties p = new Properties();
    try (InputStream in = BuildInfo.class.getClassLoader().getResourceAsStream(resource)) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // Missing build metadata only means /__version__ says "unknown".
    }
    return p;
  }
}
