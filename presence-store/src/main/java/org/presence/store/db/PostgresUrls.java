package org.presence.store.db;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Turns the database URL an operator configures into a JDBC URL. Accepts the JDBC form ({@code
 * jdbc:postgresql://host:port/db?user=u}) and the libpq form ({@code
 * postgresql://user:password@host:port/db}, also {@code postgres://}).
 */
public final class PostgresUrls {
  private PostgresUrls() {}

  /**
   * The JDBC URL for {@code url}.
   *
   * @throws IllegalArgumentException with a one-line reason when {@code url} is neither form
   */
  public static String toJdbc(String url) {
    if (url.startsWith("jdbc:postgresql://")) {
      parse(url.substring("jdbc:".length()));
      return url;
    }
    if (url.startsWith("postgresql://") || url.startsWith("postgres://")) {
      URI uri = parse(url);
      StringBuilder jdbc = new StringBuilder("jdbc:postgresql://").append(uri.getHost());
      if (uri.getPort() > 0) {
        jdbc.append(':').append(uri.getPort());
      }
      String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      jdbc.append(path);
      String sep = "?";
      if (uri.getRawQuery() != null) {
        jdbc.append('?').append(uri.getRawQuery());
        sep = "&";
      }
      String userInfo = uri.getRawUserInfo();
      if (userInfo != null) {
        int colon = userInfo.indexOf(':');
        String user = colon < 0 ? userInfo : userInfo.substring(0, colon);
        jdbc.append(sep).append("user=").append(user);
        if (colon >= 0) {
          jdbc.append("&password=").append(userInfo.substring(colon + 1));
        }
      }
      return jdbc.toString();
    }
    throw new IllegalArgumentException(
        "not a PostgreSQL URL (expected jdbc:postgresql://host:port/db or"
            + " postgresql://user:password@host:port/db)");
  }

  private static URI parse(String url) {
    try {
      URI uri = new URI(url);
      if (uri.getHost() == null || uri.getHost().isEmpty()) {
        throw new IllegalArgumentException("no host in PostgreSQL URL");
      }
      URLDecoder.decode(uri.getRawPath() == null ? "" : uri.getRawPath(), StandardCharsets.UTF_8);
      return uri;
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("unparsable PostgreSQL URL: " + e.getReason(), e);
    }
  }
}
