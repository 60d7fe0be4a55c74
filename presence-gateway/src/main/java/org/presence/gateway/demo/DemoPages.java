package org.presence.gateway.demo;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.notify.NotificationService;
import org.presence.gateway.pages.PageSupport;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.updates.AppUpdates;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The demo page, {@code GET /demo}, showing a newcomer the whole product on one machine: sign in
 * (the development sign-in), grant the built-in {@link DemoApp} on the real consent page, then
 * watch your own presence change, live, as the demo application sees it, while a device client
 * ({@code bin/presence device --email you@example.com}) switches status; then have the demo
 * application send you a live notification ({@code POST /demo/notify}, a form protected against
 * cross-site request forgery), which the device client prints.
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
  private final byte[] script;

  public DemoPages(
      PageSupport pages,
      GrantService grants,
      AppUpdates updates,
      NotificationService notifications,
      DemoApp demo,
      Supplier<String> baseUrl) {
    this.pages = pages;
    this.grants = grants;
    this.updates = updates;
    this.notifications = notifications;
    this.demo = demo;
    this.baseUrl = baseUrl;
    this.script = load("static/demo.js");
  }

  private static byte[] load(String resource) {
    try (InputStream in = DemoPages.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/demo", pages.guard(this::show))
        .get("/demo/events", pages.withVisitor(this::events))
        .post("/demo/notify", pages.guard(this::notifyMe))
        .get("/static/demo.js", this::script);
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
    m.put("deviceCommand", "bin/presence device --email " + email);
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
                m.put("sent", ex.queryParameters().containsKey("sent"));
              }
              pages.renderWithScript(ex, v, HttpResponseStatus.OK, "demo", m);
            });
  }

  /**
   * The demo application sends the signed-in visitor a live notification, as an application would
   * with {@code POST /<appid>/notification}, through the same service (queue, delivery, limits);
   * then back to the page.
   */
  private void notifyMe(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form;
    try {
      form = PageSupport.form(ex);
    } catch (ProtocolException e) {
      pages.errorPage(ex, v, e);
      return;
    }
    if (v.session().isEmpty()) {
      pages.toSignIn(ex, v, "/demo");
      return;
    }
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, ErrorCode.CSRF_REJECTED.reason());
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
                      puid.get(), DEMO_MESSAGE, baseUrl.get() + "/demo", null, false);
              return notifications.accept(
                  found.getValue().get(), List.of(new NotificationBatchCodec.Judged(item, null)));
            })
        .whenComplete(
            (ack, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              NotificationBatchCodec.ItemResult r = ack.results().get(0);
              if (!r.isStored()) {
                pages.errorPage(
                    ex,
                    v,
                    ErrorCode.fromErrno(r.errno()).orElse(ErrorCode.INTERNAL_ERROR),
                    r.reason());
                return;
              }
              pages.redirect(ex, v, "/demo?sent=1", null);
            });
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

  private void script(HttpExchange ex) {
    ex.respond(
        HttpResponseStatus.OK,
        "text/javascript; charset=utf-8",
        Unpooled.wrappedBuffer(script),
        h -> h.set("Cache-Control", "no-cache"));
  }
}
