package org.presence.gateway.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.presence.protocol.json.Json;

/**
 * The terminal device's side of pairing (RFC 8628): asks the node for a code, prints it with the
 * page where the user approves it, polls for the tokens (honouring {@code interval} and {@code
 * slow_down}), and keeps the refresh token in the data directory ({@value #FILE}, readable by its
 * owner only), so that later runs get identity tokens without pairing again.
 *
 * <p>Every token request names the client ({@value #CLIENT_ID}, RFC 8628 §3.4). The node rotates
 * the refresh token on every refresh (and revokes the device when a rotated-out one comes back), so
 * each refresh writes the new refresh token to the file (atomically, synced) before the new
 * identity token is used, and refreshes run one at a time: the file always holds the current token,
 * or the one before it, which the node accepts until the current one is first used.
 */
final class DevicePairing {
  /** The refresh token's file in the data directory. */
  static final String FILE = "paired-device.token";

  /**
   * The client_id the daemon sends (any one line of visible text is accepted; codes and refresh
   * tokens are bound to the one they were issued to).
   */
  static final String CLIENT_ID = "presence-device";

  /** A refresh answered {@code invalid_grant}: the pairing is revoked or unknown to the node. */
  static final class Revoked extends IOException {
    private static final long serialVersionUID = 1L;

    Revoked(String message) {
      super(message);
    }
  }

  /** A fresh identity token and its lifetime in seconds. */
  record Identity(String token, long expiresIn) {}

  private final URI base;
  private final Path file;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  DevicePairing(URI base, Path dataDir) {
    this.base = base;
    this.file = dataDir.resolve(FILE);
  }

  /**
   * An identity token: from the stored refresh token, or by pairing (printing the code to {@code
   * out}) when there is none or it was revoked. Fails with a message for the user.
   */
  synchronized Identity identity(PrintWriter out) throws IOException, InterruptedException {
    String stored = stored();
    if (stored != null) {
      Map<String, String> r = refreshWith(stored);
      if (r.containsKey("access_token")) {
        return new Identity(r.get("access_token"), seconds(r.get("expires_in")));
      }
      if (!"invalid_grant".equals(r.get("error"))) {
        throw new IOException("the node refused the refresh token: " + describe(r));
      }
      out.println("this device's pairing was revoked or is unknown to the node: pairing again");
      Files.deleteIfExists(file);
    }
    return pair(out);
  }

  /** A new identity token from the stored refresh token (while connected). */
  synchronized Identity refresh() throws IOException, InterruptedException {
    String stored = stored();
    if (stored == null) {
      throw new IOException("no refresh token in " + file);
    }
    Map<String, String> r = refreshWith(stored);
    if ("invalid_grant".equals(r.get("error"))) {
      throw new Revoked("the node refused the refresh token (revoked?): " + describe(r));
    }
    if (!r.containsKey("access_token")) {
      throw new IOException("cannot refresh the identity: " + describe(r));
    }
    return new Identity(r.get("access_token"), seconds(r.get("expires_in")));
  }

  /**
   * A refresh with {@code refreshToken}; a successful answer's (rotated) refresh token is stored
   * before the answer is returned.
   */
  private Map<String, String> refreshWith(String refreshToken)
      throws IOException, InterruptedException {
    Map<String, String> r =
        token(
            Map.of(
                "grant_type",
                "refresh_token",
                "refresh_token",
                refreshToken,
                "client_id",
                CLIENT_ID));
    String rotated = r.get("refresh_token");
    if (r.containsKey("access_token") && rotated != null && !rotated.equals(refreshToken)) {
      store(rotated);
    }
    return r;
  }

  private Identity pair(PrintWriter out) throws IOException, InterruptedException {
    Map<String, String> a = post("/oauth/device_authorization", Map.of("client_id", CLIENT_ID));
    if (!a.containsKey("device_code")) {
      throw new IOException("the node refused to start pairing: " + describe(a));
    }
    out.println(
        "to pair this device, open "
            + a.get("verification_uri")
            + " (signed in) and enter the code "
            + a.get("user_code"));
    out.println("waiting for approval...");
    out.flush();
    long interval = Math.max(1, seconds(a.get("interval")));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds(a.get("expires_in")) + 5);
    while (System.nanoTime() < deadline) {
      Thread.sleep(TimeUnit.SECONDS.toMillis(interval));
      Map<String, String> r =
          token(
              Map.of(
                  "grant_type",
                  "urn:ietf:params:oauth:grant-type:device_code",
                  "device_code",
                  a.get("device_code"),
                  "client_id",
                  CLIENT_ID));
      if (r.containsKey("access_token")) {
        store(r.get("refresh_token"));
        out.println("paired; the refresh token is kept in " + file);
        out.flush();
        return new Identity(r.get("access_token"), seconds(r.get("expires_in")));
      }
      String error = r.getOrDefault("error", "");
      if (error.equals("slow_down")) {
        interval += 5;
      } else if (!error.equals("authorization_pending")) {
        throw new IOException("pairing failed: " + describe(r));
      }
    }
    throw new IOException("pairing failed: the code expired");
  }

  private Map<String, String> token(Map<String, String> form)
      throws IOException, InterruptedException {
    return post("/oauth/token", form);
  }

  private Map<String, String> post(String path, Map<String, String> form)
      throws IOException, InterruptedException {
    StringBuilder body = new StringBuilder();
    for (Map.Entry<String, String> e : form.entrySet()) {
      if (body.length() > 0) {
        body.append('&');
      }
      body.append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8))
          .append('=')
          .append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
    }
    String root = base.toString().endsWith("/") ? base.toString() : base + "/";
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(root + path.substring(1)))
                .timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return flat(r.body(), r.statusCode());
  }

  /** The top-level string and number fields of a JSON object. */
  private static Map<String, String> flat(String json, int status) throws IOException {
    Map<String, String> m = new HashMap<>();
    try (JsonParser p = Json.documents().createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON answer (HTTP " + status + ")");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (v.isScalarValue()) {
          m.put(name, p.getText());
        } else {
          p.skipChildren();
        }
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException("not a JSON answer (HTTP " + status + ")", e);
    }
    return m;
  }

  private static long seconds(String s) {
    try {
      return s == null ? 0 : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String describe(Map<String, String> r) {
    return r.getOrDefault("error", "?") + " (" + r.getOrDefault("error_description", "") + ")";
  }

  private String stored() throws IOException {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).strip();
      return s.isEmpty() ? null : s;
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private void store(String refreshToken) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = Files.createTempFile(file.getParent(), ".paired-device", ".tmp");
    try {
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system: the data directory's own permissions protect the token.
      }
      Files.writeString(tmp, refreshToken, StandardCharsets.UTF_8);
      try (var ch =
          java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
        // On the disk before it replaces the token the node is about to forget.
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
