package org.presence.gateway.demo;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.notify.NotificationService;
import org.presence.gateway.pages.PageSupport;
import org.presence.gateway.pages.StaticAsset;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.updates.AppUpdates;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.presence.DeviceState;
import org.presence.store.presence.PresenceStateStore;

/**
 * The demo page, {@code GET /demo}, showing a newcomer the whole product on one machine: sign in
 * (the development sign-in), grant the built-in {@link DemoApp} on the real consent page, then
 * watch your own presence change, live, as the demo application sees it, while a device client
 * ({@code bin/presence device --email you@example.com}) switches status; then have the demo
 * application send you a live notification ({@code POST /demo/notify}, a form protected against
 * cross-site request forgery), which the device client prints. The device command names the node's
 * data directory ({@code --data-dir}) when it is not the default one, since the device signs its
 * development token with the key kept there, and the node's address ({@code --url}) when it is not
 * {@value #DEFAULT_URL}, which the device connects to by default.
 *
 * <p>The form works without script (then back to the page, with a notice); the page's script posts
 * it with {@code fetch} instead, asking for JSON, and reports the answer in the live log. The
 * notice says whether the notification went to a connected device of the visitor's or waits in
 * their queue; its receipts (delivered, acted, dismissed, missed) come on the live stream.
 *
 * <p>The live part is a small script ({@code /static/demo.js}) reading {@code GET /demo/events}:
 * the demo application's updates as server-sent events, authenticated by the page session and
 * limited to the visitor's own PUIDs, so a visitor never sees anyone else; one signed-in user holds
 * at most {@value #MAX_STREAMS_PER_USER} such streams on a node at once (more are refused with
 * {@code TOO_MANY_STREAMS}, 429). The page's Content-Security-Policy allows scripts and connections
 * from this node only.
 */
public final class DemoPages {
  private final PageSupport pages;
  private final GrantService grants;
  private final AppUpdates updates;
  private final NotificationService notifications;
  private final DemoApp demo;
  private final Supplier<String> baseUrl;
  private final PresenceStateStore presence;
  private final String dataDirOption;
  private final StaticAsset script;

  public DemoPages(
      PageSupport pages,
      GrantService grants,
      AppUpdates updates,
      NotificationService notifications,
      DemoApp demo,
      Supplier<String> baseUrl,
      PresenceStateStore presence,
      Path dataDir) {
    this.pages = pages;
    this.grants = grants;
    this.updates = updates;
    this.notifications = notifications;
    this.demo = demo;
    this.baseUrl = baseUrl;
    this.presence = presence;
    this.dataDirOption = dataDirOption(dataDir);
    this.script = StaticAsset.load("text/javascript; charset=utf-8", "static/demo.js");
  }

  /** The data directory {@code bin/presence} uses when given none (the key file is there). */
  static final Path DEFAULT_DATA_DIR = Path.of("presence-data");

  private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9@%+=:,./_-]+");

  /**
   * {@code " --data-dir <dir>"} (absolute, so that it works from any directory) when {@code
   * dataDir} is not the default, else nothing.
   */
  static String dataDirOption(Path dataDir) {
    Path dir = dataDir.toAbsolutePath().normalize();
    if (dir.equals(DEFAULT_DATA_DIR.toAbsolutePath().normalize())) {
      return "";
    }
    return " --data-dir " + shellWord(dir.toString());
  }

  /** The node {@code bin/presence device} connects to when given no {@code --url} or port. */
  static final String DEFAULT_URL = "http://127.0.0.1:8080";

  /**
   * {@code " --url <url>"} when the node's address is not the one the device command uses by
   * default (another port, host, TLS or public URL), else nothing.
   */
  static String urlOption(String nodeUrl) {
    return nodeUrl.equals(DEFAULT_URL) ? "" : " --url " + shellWord(nodeUrl);
  }

  /** {@code word} as one shell word: as is when it needs no quoting, else in single quotes. */
  static String shellWord(String word) {
    if (SHELL_SAFE.matcher(word).matches()) {
      return word;
    }
    return "'" + word.replace("'", "'\\''") + "'";
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes.get("/demo", pages.guard(this::show)).stream(
            "/demo/events", pages.withVisitor(this::events))
        .post("/demo/notify", pages.guard(this::notifyMe))
        .get("/static/demo.js", script::serve);
  }

  private void show(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, Object> m = pages.model(v, "Demo");
    long appId = demo.id();
    m.put("appName", DemoApp.NAME);
    m.put("appId", appId);
    if (v.session().isEmpty()) {
      m.put("signInUrl", "/signin?next=/demo");
      pages.render(ex, v, HttpResponseStatus.OK, "demo", m);
      return;
    }
    String email = v.session().get().email();
    m.put(
        "deviceCommand",
        "bin/presence device --email "
            + shellWord(email)
            + urlOption(baseUrl.get())
            + dataDirOption);
    grants
        .list(v.subject())
        .whenComplete(
            (list, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              Optional<GrantService.GrantView> mine =
                  list.stream().filter(g -> g.grant().appId() == appId).findFirst();
              if (mine.isEmpty()) {
                m.put(
                    "grantUrl",
                    "/"
                        + appId
                        + "/grant?redirect="
                        + URLEncoder.encode(baseUrl.get() + "/demo", StandardCharsets.UTF_8)
                        + "&id="
                        + URLEncoder.encode(DemoApp.USER_STRING, StandardCharsets.UTF_8));
              } else if (!mine.get().grant().enabled()) {
                m.put("paused", true);
              } else {
                m.put("puid", mine.get().grant().puid());
                String sent = ex.query("sent").orElse("");
                m.put(
                    "sentNotice",
                    sent.equals(SENT_TO_DEVICE)
                        ? sentNotice(1)
                        : sent.equals(SENT_QUEUED) ? sentNotice(0) : null);
              }
              pages.renderWithScript(ex, v, HttpResponseStatus.OK, "demo", m);
            });
  }

  /**
   * The demo application sends the signed-in visitor a live notification, as an application would
   * with {@code POST /<appid>/notification}, through the same service (queue, delivery, limits),
   * with receipts; then back to the page ({@code ?sent=device} or {@code ?sent=queued}), or, for
   * the page's script (which asks for {@code application/json}), a JSON answer: {@code {"id": ...,
   * "devices": <connected devices>, "notice": ...}} or an error.
   */
  private void notifyMe(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    boolean json = wantsJson(ex);
    Map<String, List<String>> form;
    try {
      form = PageSupport.form(ex);
    } catch (ProtocolException e) {
      fail(ex, v, json, e);
      return;
    }
    if (v.session().isEmpty()) {
      if (json) {
        ex.error(ErrorCode.UNAUTHORIZED, "sign in first");
      } else {
        pages.toSignIn(ex, v, "/demo");
      }
      return;
    }
    if (!pages.csrfValid(v, form)) {
      fail(ex, v, json, new ProtocolException(ErrorCode.CSRF_REJECTED, null));
      return;
    }
    long appId = demo.id();
    grants
        .enabledGrants(v.subject())
        .thenCombine(demo.application(), (list, app) -> Map.entry(list, app))
        .thenCompose(
            found -> {
              Optional<String> puid =
                  found.getKey().stream()
                      .filter(g -> g.appId() == appId)
                      .map(g -> g.puid())
                      .findFirst();
              if (puid.isEmpty() || found.getValue().isEmpty()) {
                throw new ProtocolException(
                    ErrorCode.UNKNOWN_PUID, "grant the demo application first");
              }
              NotificationBatchCodec.Item item =
                  new NotificationBatchCodec.Item(
                      puid.get(), DEMO_MESSAGE, baseUrl.get() + "/demo", null, true);
              return notifications.accept(
                  found.getValue().get(), List.of(new NotificationBatchCodec.Judged(item, null)));
            })
        .thenCompose(
            ack -> {
              NotificationBatchCodec.ItemResult r = ack.results().get(0);
              if (!r.isStored()) {
                // r.reason() is already the code's reason with the detail.
                throw new ProtocolException(
                    ErrorCode.fromErrno(r.errno()).orElse(ErrorCode.INTERNAL_ERROR), null);
              }
              // Pushed at once to every connected device of the visitor's; else it waits.
              return presence
                  .devices(v.subject())
                  .thenApply(
                      devices ->
                          Map.entry(
                              r.id(),
                              (int)
                                  devices.values().stream()
                                      .map(DeviceState::session)
                                      .filter(s -> s != null)
                                      .count()));
            })
        .whenComplete(
            (sent, failure) -> {
              if (failure != null) {
                fail(ex, v, json, failure);
              } else if (json) {
                ex.json(
                    HttpResponseStatus.OK,
                    g -> {
                      g.writeStartObject();
                      g.writeStringField("id", sent.getKey());
                      g.writeNumberField("devices", sent.getValue());
                      g.writeStringField("notice", sentNotice(sent.getValue()));
                      g.writeEndObject();
                    });
              } else {
                pages.redirect(
                    ex,
                    v,
                    "/demo?sent=" + (sent.getValue() > 0 ? SENT_TO_DEVICE : SENT_QUEUED),
                    null);
              }
            });
  }

  /** {@code ?sent=} after a notification went to a connected device. */
  static final String SENT_TO_DEVICE = "device";

  /** {@code ?sent=} after a notification was queued, no device of the visitor's connected. */
  static final String SENT_QUEUED = "queued";

  /** What the page says once a notification is stored, {@code devices} of the visitor connected. */
  static String sentNotice(int devices) {
    return devices > 0
        ? "Sent to your connected device: it prints the notification now."
        : "Queued: no device of yours is connected, so it waits in your queue and arrives when"
            + " one connects.";
  }

  /** Whether the page's script asked (for JSON rather than a page). */
  private static boolean wantsJson(HttpExchange ex) {
    String accept = ex.header("Accept");
    return accept != null && accept.startsWith("application/json");
  }

  private void fail(HttpExchange ex, PageSupport.Visitor v, boolean json, Throwable failure) {
    if (json) {
      ex.error(failure);
    } else {
      pages.errorPage(ex, v, failure);
    }
  }

  /** What the demo's notification says. */
  static final String DEMO_MESSAGE =
      "Hello from the Presence demo: this live notification reached your device.";

  /** How many {@code /demo/events} streams one signed-in user may hold open on a node. */
  static final int MAX_STREAMS_PER_USER = 4;

  /** Open event streams by signed-in subject; an entry lives while its count is above 0. */
  private final ConcurrentHashMap<String, Integer> openStreams = new ConcurrentHashMap<>();

  /** Counts a new stream of {@code subject}; false (nothing counted) when it holds the most. */
  private boolean openStream(String subject) {
    boolean[] opened = new boolean[1];
    openStreams.compute(
        subject,
        (k, n) -> {
          int cur = n == null ? 0 : n;
          if (cur >= MAX_STREAMS_PER_USER) {
            return n;
          }
          opened[0] = true;
          return cur + 1;
        });
    return opened[0];
  }

  private void closeStream(String subject) {
    openStreams.computeIfPresent(subject, (k, n) -> n <= 1 ? null : n - 1);
  }

  private void events(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    if (v.session().isEmpty()) {
      ex.error(ErrorCode.UNAUTHORIZED, "sign in first");
      return;
    }
    String subject = v.subject();
    if (!openStream(subject)) {
      ex.error(ErrorCode.TOO_MANY_STREAMS, "at most " + MAX_STREAMS_PER_USER + " per user");
      return;
    }
    // Counted until the connection closes (a stream is its connection's last answer), or at once
    // when the stream is refused below.
    AtomicBoolean counted = new AtomicBoolean(true);
    Runnable release =
        () -> {
          if (counted.compareAndSet(true, false)) {
            closeStream(subject);
          }
        };
    ex.channel().closeFuture().addListener(f -> release.run());
    long appId = demo.id();
    grants
        .enabledGrants(subject)
        .whenComplete(
            (list, failure) -> {
              if (failure != null) {
                release.run();
                ex.error(failure);
                return;
              }
              Set<String> puids =
                  list.stream()
                      .filter(g -> g.appId() == appId)
                      .map(g -> g.puid())
                      .collect(Collectors.toUnmodifiableSet());
              if (puids.isEmpty()) {
                release.run();
                ex.error(ErrorCode.UNKNOWN_PUID, "grant the demo application first");
                return;
              }
              updates.followAsEventStream(ex, appId, puids::contains);
            });
  }
}
