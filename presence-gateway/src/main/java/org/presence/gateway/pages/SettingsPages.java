package org.presence.gateway.pages;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.auth.WebSessions;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.permission.GrantService;
import org.presence.gateway.settings.SettingsService;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.user.UserSettings;

/**
 * The user's settings page at {@code /settings} (seed 000, "similar to the iOS Notifications
 * page"): the applications granted, each with its user string and Pause/Resume and Revoke buttons;
 * the presence policy; the custom status and away message; the browsers signed in (page sessions),
 * each with "Sign out", and "Sign out everywhere"; the paired devices and "Sign out all devices".
 * Each grant and policy action has a twin in the user JSON API.
 */
public final class SettingsPages {
  private static final Map<String, String> NOTICES =
      Map.of(
          "saved",
          "Settings saved.",
          "pause",
          "Paused: that application no longer sees your presence.",
          "resume",
          "Resumed.",
          "revoke",
          "Revoked: that application's id for you is gone for good.",
          "session-ended",
          "Signed out: that browser's session has ended.",
          "device",
          "Device revoked: its sessions have ended and it must be paired again.",
          "devices-signed-out",
          "Signed out all devices: every paired device is revoked and every device session has"
              + " ended.");

  /**
   * The user's paired devices for the "Paired devices" section (supplied by the pairing feature):
   * rows with {@code id}, {@code name}, {@code pairedAt}, {@code lastSeenAt}, {@code revoked}.
   */
  public interface PairedDevicesSection {
    CompletionStage<List<Map<String, Object>>> rows(String user);
  }

  private volatile PairedDevicesSection pairedDevices;

  /**
   * "Sign out all devices" (supplied by the pairing feature): revokes every paired device of the
   * user and ends every device session of the user on every node.
   */
  public interface DeviceSignOut {
    CompletionStage<?> signOutAll(String user);
  }

  private volatile DeviceSignOut deviceSignOut;

  private final PageSupport pages;
  private final GrantService grants;
  private final SettingsService settings;

  public SettingsPages(PageSupport pages, GrantService grants, SettingsService settings) {
    this.pages = pages;
    this.grants = grants;
    this.settings = settings;
  }

  /** Shows the user's paired devices (with a Revoke button each) from {@code section}. */
  public void attachPairedDevices(PairedDevicesSection section) {
    this.pairedDevices = section;
  }

  /** Handles the "Sign out all devices" button with {@code signOut}. */
  public void attachDeviceSignOut(DeviceSignOut signOut) {
    this.deviceSignOut = signOut;
  }

  /** Adds the routes. */
  public void register(HttpRoutes.Builder routes) {
    routes
        .get("/settings", pages.guard(this::show))
        .post("/settings", pages.guard(this::save))
        .post("/settings/grants/{puid}/{action:pause|resume|revoke}", pages.guard(this::act));
    registerSessions(routes);
    routes.post("/settings/devices/sign-out-all", pages.guard(this::signOutAllDevices));
  }

  private void show(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    if (v.session().isEmpty()) {
      pages.toSignIn(ex, v, "/settings");
      return;
    }
    String notice = ex.query("done").map(NOTICES::get).orElse(null);
    render(ex, v, HttpResponseStatus.OK, notice, null);
  }

  private void render(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String notice,
      String error) {
    String user = v.subject();
    PairedDevicesSection section = pairedDevices;
    CompletionStage<List<Map<String, Object>>> devices =
        section == null
            ? java.util.concurrent.CompletableFuture.completedFuture(List.of())
            : section.rows(user);
    grants
        .list(user)
        .thenCombine(settings.get(user), (list, s) -> model(v, list, s))
        .thenCombine(pages.sessions().list(user), (m, list) -> sessionsModel(v, m, list))
        .thenCombine(
            devices,
            (m, rows) -> {
              m.put("pairedDevices", rows);
              m.put("hasPairedDevices", !rows.isEmpty());
              return m;
            })
        .whenComplete(
            (m, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
                return;
              }
              m.put("notice", notice);
              m.put("error", error);
              pages.render(ex, v, status, "settings", m);
            });
  }

  private Map<String, Object> model(
      PageSupport.Visitor v, List<GrantService.GrantView> list, UserSettings s) {
    Map<String, Object> m = pages.model(v, "Settings");
    List<Map<String, Object>> rows = new ArrayList<>();
    for (GrantService.GrantView g : list) {
      Map<String, Object> r = new HashMap<>();
      r.put("puid", g.grant().puid());
      r.put("appId", g.grant().appId());
      r.put("appName", g.appName());
      r.put("appDomain", g.appDomain());
      r.put("userString", g.grant().userString());
      r.put("enabled", g.grant().enabled());
      rows.add(r);
    }
    m.put("grants", rows);
    m.put("hasGrants", !rows.isEmpty());
    m.put("online", choices(UserSettings.ONLINE_CHOICES, s.onlineWithinMinutes()));
    m.put("away", choices(UserSettings.AWAY_CHOICES, s.awayAfterMinutes()));
    m.put("offline", choices(UserSettings.OFFLINE_CHOICES, s.offlineAfterMinutes()));
    m.put("customStatus", s.customStatus());
    m.put("awayMessage", s.awayMessage());
    return m;
  }

  private static List<Map<String, Object>> choices(int[] values, int selected) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (int value : values) {
      out.add(Map.of("value", value, "selected", value == selected));
    }
    return out;
  }

  private void save(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!allowed(ex, v, form)) {
      return;
    }
    SettingsService.Change change;
    try {
      change =
          new SettingsService.Change(
              minutes(form, "online_within_minutes"),
              minutes(form, "away_after_minutes"),
              minutes(form, "offline_after_minutes"),
              PageSupport.field(form, "custom_status"),
              PageSupport.field(form, "away_message"));
    } catch (ProtocolException e) {
      render(ex, v, HttpResponseStatus.valueOf(e.code().httpStatus()), null, e.reason());
      return;
    }
    settings
        .update(v.subject(), change)
        .whenComplete(
            (saved, failure) -> {
              if (failure == null) {
                pages.redirect(ex, v, "/settings?done=saved", null);
                return;
              }
              ProtocolException pe = PageSupport.expected(failure);
              if (pe == null) {
                pages.errorPage(ex, v, failure);
              } else {
                render(
                    ex, v, HttpResponseStatus.valueOf(pe.code().httpStatus()), null, pe.reason());
              }
            });
  }

  private static Integer minutes(Map<String, List<String>> form, String name) {
    String s = PageSupport.field(form, name);
    if (s == null || s.isEmpty()) {
      return null;
    }
    if (!s.matches("[0-9]{1,3}")) {
      throw new ProtocolException(ErrorCode.INVALID_SETTING, name + " must be a number of minutes");
    }
    return Integer.parseInt(s);
  }

  private void act(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!allowed(ex, v, form)) {
      return;
    }
    String puid = ex.param("puid");
    String action = ex.param("action");
    CompletionStage<?> done =
        switch (action) {
          case "pause" -> grants.setEnabled(v.subject(), puid, false);
          case "resume" -> grants.setEnabled(v.subject(), puid, true);
          default -> grants.revoke(v.subject(), puid);
        };
    done.whenComplete(
        (g, failure) -> {
          if (failure != null) {
            pages.errorPage(ex, v, failure);
          } else {
            pages.redirect(ex, v, "/settings?done=" + action, null);
          }
        });
  }

  private boolean allowed(HttpExchange ex, PageSupport.Visitor v, Map<String, List<String>> form) {
    if (v.session().isEmpty()) {
      pages.errorPage(ex, v, ErrorCode.UNAUTHORIZED, "Sign in first");
      return false;
    }
    if (!pages.csrfValid(v, form)) {
      pages.errorPage(ex, v, ErrorCode.CSRF_REJECTED, ErrorCode.CSRF_REJECTED.reason());
      return false;
    }
    return true;
  }

  // Page sessions (issue 15): the browsers signed in as this user, each with a way to end it.

  private void registerSessions(HttpRoutes.Builder routes) {
    routes
        .post("/settings/sessions/{id:[0-9a-f]{64}}/end", pages.guard(this::endSession))
        .post("/settings/sessions/end-all", pages.guard(this::endAllSessions));
  }

  private Map<String, Object> sessionsModel(
      PageSupport.Visitor v, Map<String, Object> m, List<WebSessions.Session> list) {
    String current = v.session().map(WebSessions.Session::idHash).orElse("");
    List<Map<String, Object>> rows = new ArrayList<>();
    for (WebSessions.Session s : list) {
      Map<String, Object> r = new HashMap<>();
      r.put("id", s.idHash());
      r.put("createdAt", SESSION_TIME.format(s.createdAt()));
      r.put("lastSeenAt", SESSION_TIME.format(s.lastSeenAt()));
      r.put("userAgent", s.userAgent().isEmpty() ? "unknown browser" : s.userAgent());
      r.put("current", s.idHash().equals(current));
      rows.add(r);
    }
    m.put("sessions", rows);
    return m;
  }

  private static final DateTimeFormatter SESSION_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private void endSession(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!allowed(ex, v, form)) {
      return;
    }
    String id = ex.param("id");
    boolean mine = v.session().map(s -> s.idHash().equals(id)).orElse(false);
    pages
        .sessions()
        .end(v.subject(), id)
        .whenComplete(
            (ended, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else if (!ended) {
                pages.errorPage(ex, v, ErrorCode.NOT_FOUND, "no such session of yours");
              } else if (mine) {
                pages.redirectWithSession(ex, v, "/", null);
              } else {
                pages.redirect(ex, v, "/settings?done=session-ended", null);
              }
            });
  }

  private void endAllSessions(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!allowed(ex, v, form)) {
      return;
    }
    pages
        .sessions()
        .endAll(v.subject())
        .whenComplete(
            (n, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else {
                pages.redirectWithSession(ex, v, "/", null);
              }
            });
  }

  private void signOutAllDevices(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!allowed(ex, v, form)) {
      return;
    }
    DeviceSignOut signOut = deviceSignOut;
    if (signOut == null) {
      pages.errorPage(ex, v, ErrorCode.NOT_FOUND, "this node has no device sign-out");
      return;
    }
    signOut
        .signOutAll(v.subject())
        .whenComplete(
            (n, failure) -> {
              if (failure != null) {
                pages.errorPage(ex, v, failure);
              } else {
                pages.redirect(ex, v, "/settings?done=devices-signed-out", null);
              }
            });
  }
}
