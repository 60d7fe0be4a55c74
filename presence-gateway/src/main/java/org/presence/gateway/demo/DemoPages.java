package org.presence.gateway.demo;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.pages.PageSupport;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.updates.AppUpdates;
import org.presence.protocol.error.ErrorCode;

/**
 * The demo page, {@code GET /demo}, showing a newcomer the whole product on one machine: sign in
 * (the development sign-in), grant the built-in {@link DemoApp} on the real consent page, then
 * watch your own presence change, live, as the demo application sees it, while a device client
 * ({@code bin/presence device --email you@example.com}) switches status.
 *
 * <p>The live part is a small script ({@code /static/demo.js}) reading {@code GET /demo/events}:
 * the demo application's updates as server-sent events, authenticated by the page session and
 * limited to the visitor's own PUIDs, so a visitor never sees anyone else. The page's
 * Content-Security-Policy allows scripts and connections from this node only.
 */
public final class DemoPages {
  private final PageSupport pages;
  private final GrantService grants;
  private final AppUpdates updates;
  private final DemoApp demo;
  private final Supplier<String> baseUrl;
  private final byte[] script;

  public DemoPages(
      PageSupport pages,
      GrantService grants,
      AppUpdates updates,
      DemoApp demo,
      Supplier<String> baseUrl) {
    this.pages = pages;
    this.grants = grants;
    this.updates = updates;
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
        .get("/demo/events", this::events)
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
                    "/" + appId + "/grant?redirect="
                        + URLEncoder.encode(baseUrl.get() + "/demo", StandardCharsets.UTF_8)
                        + "&id=" + URLEncoder.encode(email, StandardCharsets.UTF_8));
              } else if (!mine.get().grant().enabled()) {
                m.put("paused", true);
              } else {
                m.put("puid", mine.get().grant().puid());
              }
              pages.renderWithScript(ex, v, HttpResponseStatus.OK, "demo", m);
            });
  }

  private void events(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    if (v.session().isEmpty()) {
      ex.error(ErrorCode.UNAUTHORIZED, "sign in first");
      return;
    }
    long appId = demo.id();
    grants
        .enabledGrants(v.subject())
        .whenComplete(
            (list, failure) -> {
              if (failure != null) {
                ex.error(failure);
                return;
              }
              Set<String> puids =
                  list.stream()
                      .filter(g -> g.appId() == appId)
                      .map(g -> g.puid())
                      .collect(Collectors.toUnmodifiableSet());
              if (puids.isEmpty()) {
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
