package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.TestNode;
import org.slf4j.LoggerFactory;

/**
 * A randomized test of the HTTP layer: a seeded generator of requests (methods, paths with escapes,
 * unicode, dot segments and great length, queries, duplicate, huge and oddly cased headers, bodies
 * of the wrong type, chunked, truncated) sent over real sockets to an in-process node. No request
 * may get a 5xx answer or make the node log at WARN or above; the leak detector (registered for
 * every class) fails the class on a leaked buffer. The seed is printed; rerun one with {@code
 * -Dpresence.fuzz.seed=<seed>}; hunt longer with {@code -Dpresence.fuzz.iterations=<n>}.
 */
class HttpFuzzTest {
  /** Requests per run; a longer hunt: {@code -Dpresence.fuzz.iterations=20000}. */
  private static final int ITERATIONS = Integer.getInteger("presence.fuzz.iterations", 400);

  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3})");

  @TempDir Path dataDir;
  TestNode node;
  final List<String> logged = new CopyOnWriteArrayList<>();
  AppenderBase<ILoggingEvent> appender;
  Logger root;

  @BeforeEach
  void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("limits.max-request-bytes", "4k");
    s.put("limits.max-header-bytes", "4k");
    node = TestNode.start(s, r -> {});
    root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(Logger.ROOT_LOGGER_NAME);
    appender =
        new AppenderBase<>() {
          @Override
          protected void append(ILoggingEvent e) {
            if (e.getLevel().isGreaterOrEqual(Level.WARN)) {
              logged.add(
                  e.getLevel()
                      + " "
                      + e.getLoggerName()
                      + ": "
                      + e.getFormattedMessage()
                      + (e.getThrowableProxy() == null
                          ? ""
                          : " " + e.getThrowableProxy().getClassName()));
            }
          }
        };
    appender.setContext(root.getLoggerContext());
    appender.start();
    root.addAppender(appender);
  }

  @AfterEach
  void stop() {
    root.detachAppender(appender);
    appender.stop();
    node.close();
  }

  @Test
  void randomRequests_getNo5xx_andLogNoWarning() throws Exception {
    long seed = Long.getLong("presence.fuzz.seed", System.nanoTime());
    System.out.println("HttpFuzzTest seed: " + seed + " (-Dpresence.fuzz.seed=" + seed + ")");
    Random random = new Random(seed);
    Generator gen = new Generator(random, node.token("fuzz@example.com"));
    long deadline =
        System.nanoTime()
            + Math.max(120, ITERATIONS * 3L / 10) * 1_000_000_000L; // 120 s, or 0.3 s a request
    int answered = 0;
    for (int i = 0; i < ITERATIONS && System.nanoTime() < deadline; i++) {
      Generator.Request req = gen.next();
      String answer = RawHttp.exchange(node.port(), req.bytes, req.quietMs);
      Matcher m = STATUS.matcher(answer);
      while (m.find()) {
        answered++;
        int status = Integer.parseInt(m.group(1));
        if (status == 501 || status == 505) {
          // A transfer coding or an HTTP version the node does not speak: refused by design
          // (RFC 9112 section 6.1, RFC 9110 section 15.6.6), with the client's errno in the body;
          // the answer to a HEAD has none (RFC 9110 section 9.3.2), only its headers.
          String refusal = answer.substring(m.start());
          if (req.head()) {
            assertThat(refusal)
                .as("seed %d, request %d:%n%s", seed, i, req.shown())
                .endsWith("\r\n\r\n")
                .doesNotContain("errno");
          } else {
            assertThat(refusal)
                .as("seed %d, request %d:%n%s", seed, i, req.shown())
                .contains("\"errno\":100");
          }
          continue;
        }
        assertThat(status)
            .as("seed %d, request %d:%n%s%nanswer:%n%s", seed, i, req.shown(), head(answer))
            .isLessThan(500);
      }
      assertThat(logged)
          .as("seed %d, request %d logged at WARN or above:%n%s", seed, i, req.shown())
          .isEmpty();
    }
    // The generator mostly sends complete requests: most must have been answered.
    assertThat(answered).isGreaterThan(ITERATIONS / 2);
  }

  @Test
  void undecodableEscapes_areAnswered400_jsonForApis_pageForBrowsers() throws Exception {
    String api =
        RawHttp.exchange(
            node.port(), "GET /api/grants/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(api).startsWith("HTTP/1.1 400").contains("\"errno\":100");
    String put =
        RawHttp.exchange(
            node.port(),
            "PUT /api/grants/%zz HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
                + "Content-Length: 0\r\nConnection: close\r\n\r\n");
    assertThat(put)
        .startsWith("HTTP/1.1 400")
        .contains("application/json")
        .contains("\"errno\":100");
    String page =
        RawHttp.exchange(
            node.port(),
            "GET /signin?next=%E0%A4%A HTTP/1.1\r\nHost: x\r\nAccept: text/html,*/*\r\n"
                + "Connection: close\r\n\r\n");
    assertThat(page).startsWith("HTTP/1.1 400").contains("text/html").contains("<html");
    String noAccept =
        RawHttp.exchange(
            node.port(),
            "GET /signin?next=%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(noAccept).startsWith("HTTP/1.1 400").contains("\"errno\":100");
    String form =
        RawHttp.exchange(
            node.port(),
            "POST /signin HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n"
                + "Connection: close\r\n\r\nemail=%z");
    assertThat(form).startsWith("HTTP/1.1 400").contains("text/html");
    assertThat(logged).isEmpty();
  }

  private static String head(String answer) {
    return answer.length() > 600 ? answer.substring(0, 600) + "..." : answer;
  }

  /** Random requests, from the node's real routes and from junk. */
  static final class Generator {
    record Request(byte[] bytes, int quietMs) {
      /** Whether it is a HEAD request, whose answer carries no body. */
      boolean head() {
        return bytes.length > 5
            && new String(bytes, 0, 5, StandardCharsets.ISO_8859_1).equals("HEAD ");
      }

      String shown() {
        String s = new String(bytes, StandardCharsets.ISO_8859_1);
        return s.length() > 800 ? s.substring(0, 800) + "... (" + s.length() + " bytes)" : s;
      }
    }

    private static final String[] PATHS = {
      "/",
      "/signin",
      "/signout",
      "/myapps",
      "/myapps/1",
      "/myapps/1/verify",
      "/myapps/x/webhook",
      "/settings",
      "/settings/grants/abc/pause",
      "/1/grant",
      "/2/grant",
      "/1",
      "/99999999999999999999",
      "/api/apps",
      "/api/apps/1",
      "/api/apps/1/verify",
      "/api/apps/1/activate",
      "/api/apps/1/key",
      "/api/apps/1/deactivate",
      "/api/apps/1/webhook",
      "/api/grants",
      "/api/grants/abc",
      "/api/settings",
      "/push/status",
      "/1/notification",
      "/1/presence.json",
      "/presence",
      "/demo",
      "/demo/events",
      "/demo/notify",
      "/static/demo.js",
      "/static/presence.css",
      "/__heartbeat__",
      "/__lbheartbeat__",
      "/__version__",
      "/metrics",
      "/metrics/",
      "/nowhere"
    };
    private static final String[] METHODS = {
      "GET", "GET", "GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
      "TRACE", "get", "FOO", "CONNECT"
    };
    private static final String[] ESCAPES = {
      "%zz",
      "%",
      "%%",
      "%4",
      "%E0%A4%A",
      "%41",
      "%2F",
      "%00",
      "%C0%AF",
      "%ff%fe",
      "%u0041",
      "+",
      "%20",
      "%E2%82%AC",
      "%F0%9F%98%80",
      "..",
      ".",
      "%2e%2e",
      "//",
      "\u00e9",
      "\u00ff"
    };
    private static final String[] CONTENT_TYPES = {
      "application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data",
      "application/json; charset=utf-16", "APPLICATION/JSON", "", "x/y; a=\"b"
    };
    private static final String[] HEADER_NAMES = {
      "Accept",
      "Cookie",
      "Authorization",
      "X-Forwarded-For",
      "Origin",
      "Referer",
      "Upgrade",
      "Connection",
      "Sec-WebSocket-Key",
      "Sec-WebSocket-Version",
      "Expect",
      "Accept-Encoding",
      "If-None-Match",
      "Range",
      "Content-Encoding",
      "Transfer-Encoding",
      "Content-Length"
    };

    private final Random r;
    private final String token;

    Generator(Random r, String token) {
      this.r = r;
      this.token = token;
    }

    private boolean p(double probability) {
      return r.nextDouble() < probability;
    }

    private <T> T pick(T[] from) {
      return from[r.nextInt(from.length)];
    }

    Request next() {
      String method = pick(METHODS);
      StringBuilder target = new StringBuilder(path());
      if (p(0.4)) {
        target.append('?').append(query());
      }
      List<String> headers = new ArrayList<>();
      headers.add(p(0.05) ? "hOsT: x" : "Host: 127.0.0.1");
      if (p(0.5)) {
        headers.add(
            p(0.5) ? "Accept: text/html,application/xhtml+xml,*/*" : "Accept: application/json");
      }
      if (p(0.4)) {
        headers.add(casing("Authorization") + ": Bearer " + (p(0.7) ? token : junk(40)));
      }
      int extra = r.nextInt(4);
      for (int i = 0; i < extra; i++) {
        headers.add(casing(pick(HEADER_NAMES)) + ": " + headerValue());
      }
      if (p(0.03)) {
        headers.add("X-Huge: " + "h".repeat(3000 + r.nextInt(3000)));
      }
      byte[] body = body();
      boolean chunked = body.length > 0 && p(0.25);
      boolean truncated = body.length > 0 && p(0.04);
      if (body.length > 0 || p(0.1)) {
        headers.add(casing("Content-Type") + ": " + pick(CONTENT_TYPES));
      }
      if (chunked) {
        headers.add(casing("Transfer-Encoding") + ": chunked");
      } else if (body.length > 0) {
        headers.add(casing("Content-Length") + ": " + (body.length + (truncated ? 10 : 0)));
      }
      headers.add("Connection: close");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      String version = p(0.05) ? "HTTP/1.0" : "HTTP/1.1";
      write(out, method + " " + target + " " + version + "\r\n");
      for (String h : headers) {
        write(out, h + "\r\n");
      }
      write(out, "\r\n");
      if (chunked) {
        int at = 0;
        while (at < body.length) {
          int n = Math.min(body.length - at, 1 + r.nextInt(64));
          write(out, Integer.toHexString(n) + "\r\n");
          out.write(body, at, n);
          write(out, "\r\n");
          at += n;
        }
        if (p(0.1)) {
          write(out, "zz\r\n");
        } else if (!truncated) {
          write(out, "0\r\n\r\n");
        }
      } else {
        out.write(body, 0, body.length);
      }
      // Requests the server waits on (a truncated body, an upgrade) end when the client gives up.
      return new Request(out.toByteArray(), truncated ? 300 : 500);
    }

    private String path() {
      if (p(0.05)) {
        return "/" + "a".repeat(1000 + r.nextInt(5000));
      }
      StringBuilder b = new StringBuilder(pick(PATHS));
      int mutations = p(0.5) ? 0 : 1 + r.nextInt(3);
      for (int i = 0; i < mutations; i++) {
        switch (r.nextInt(4)) {
          case 0 -> b.append('/').append(pick(ESCAPES));
          case 1 -> b.append(pick(ESCAPES));
          case 2 -> b.insert(0, "/" + pick(ESCAPES)).deleteCharAt(0);
          default -> b.append("/").append(junk(1 + r.nextInt(30)));
        }
      }
      return b.charAt(0) == '/' || p(0.9) ? b.toString() : "*";
    }

    private String query() {
      StringBuilder q = new StringBuilder();
      int n = r.nextInt(5);
      for (int i = 0; i < n; i++) {
        if (i > 0) {
          q.append(p(0.9) ? "&" : ";");
        }
        q.append(p(0.3) ? "next" : junk(1 + r.nextInt(8)));
        if (p(0.8)) {
          q.append('=');
          q.append(p(0.5) ? pick(ESCAPES) : junk(r.nextInt(20)));
          if (p(0.3)) {
            q.append(pick(ESCAPES));
          }
        }
      }
      return q.toString();
    }

    private String headerValue() {
      return switch (r.nextInt(6)) {
        case 0 -> junk(r.nextInt(60));
        case 1 -> "websocket";
        case 2 -> "presence_session=" + junk(30) + "; presence_csrf=" + junk(20);
        case 3 -> "::1, 10.0.0.1, " + junk(5);
        case 4 -> String.valueOf(r.nextInt(100000) - 10);
        default -> "100-continue";
      };
    }

    private byte[] body() {
      return switch (r.nextInt(8)) {
        case 0, 1 -> new byte[0];
        case 2 ->
            "{\"user\":\"x\",\"application_id\":1,\"enabled\":true}"
                .getBytes(StandardCharsets.UTF_8);
        case 3 ->
            ("email=" + pick(ESCAPES) + "&csrf=" + junk(10) + "&next=" + pick(ESCAPES))
                .getBytes(StandardCharsets.ISO_8859_1);
        case 4 -> {
          byte[] b = new byte[r.nextInt(300)];
          r.nextBytes(b);
          yield b;
        }
        case 5 ->
            "{\"notifications\":[{\"puid\":\"a\",\"message\":\"m\""
                .getBytes(StandardCharsets.UTF_8);
        case 6 -> "x".repeat(3000 + r.nextInt(3000)).getBytes(StandardCharsets.US_ASCII);
        default ->
            ("{\"xpi\":\"" + junk(10) + "\",\"xps\":\"O\"}").getBytes(StandardCharsets.UTF_8);
      };
    }

    private String casing(String name) {
      if (!p(0.3)) {
        return name;
      }
      StringBuilder b = new StringBuilder(name.length());
      for (char c : name.toCharArray()) {
        b.append(r.nextBoolean() ? Character.toUpperCase(c) : Character.toLowerCase(c));
      }
      return b.toString();
    }

    private String junk(int length) {
      String alphabet = "abcXYZ019-_.~!$'()*,;=:@%/?#[]\u00e9 ";
      StringBuilder b = new StringBuilder(length);
      for (int i = 0; i < length; i++) {
        b.append(alphabet.charAt(r.nextInt(alphabet.length())));
      }
      return b.toString();
    }

    private static void write(ByteArrayOutputStream out, String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      out.write(b, 0, b.length);
    }
  }
}
