package org.presence.gateway.pages;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.presence.gateway.auth.WebSessions;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.http.RetryLaterException;
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
          "Paused: %s no longer sees your presence.",
          "resume",
          "Resumed: %s sees your presence again.",
          "revoke",
          "Revoked: %s has lost your presence for good; sharing again would give it a new id for"
              + " you.",
          "session-ended",
          "Signed out: that browser's session has ended.",
          "device",
          "Device revoked: its sessions have ended and it must be paired again.",
          "devices-signed-out",
          "Signed out all devices: every paired device is revoked and every device session has"
              + " ended.");

  /**
   * The flash cookie naming the grant action just done and its application ({@code
   * revoke-<appId>}), for the notice of the page the action redirects to, which clears it.
   */
  static final String NOTICE_COOKIE = "presence_notice";

  private static final long NOTICE_COOKIE_SECONDS = 60;

  /** The policy form's fields, kept as typed when the form is refused. */
  private static final List<String> POLICY_FIELDS =
      List.of(
          "online_within_minutes",
          "away_after_minutes",
          "offline_after_minutes",
          "custom_status",
          "away_message");

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
    String done = ex.query("done").orElse("");
    String notice = NOTICES.get(done);
    if (notice == null || !notice.contains("%s")) {
      render(ex, v, HttpResponseStatus.OK, notice, null, null);
      return;
    }
    // The notice names the application only when the grant action just before set the flash
    // cookie for it (this browser, this action): the name is looked up, and the address (which
    // anyone can send in a link) selects only one of the fixed sentences. An application's name is
    // free text its developer chose, so naming any id the address gave would let a link put words
    // on this page.
    Optional<String> flash = pages.scopedCookie(ex, NOTICE_COOKIE);
    Consumer<HttpHeaders> clear =
        flash.isEmpty()
            ? null
            : h -> h.add(HttpHeaderNames.SET_COOKIE, pages.clearFlash(NOTICE_COOKIE, "/settings"));
    Optional<Long> app =
        flash
            .filter(f -> f.matches("[a-z]+-[0-9]{1,18}") && f.startsWith(done + "-"))
            .map(f -> Long.parseLong(f.substring(done.length() + 1)));
    if (app.isEmpty()) {
      render(
          ex,
          v,
          HttpResponseStatus.OK,
          notice.replace("%s", "the application"),
          null,
          null,
          null,
          null,
          clear);
      return;
    }
    grants
        .appName(app.get())
        .whenComplete(
            (name, failure) -> {
              if (failure == null && name.isPresent()) {
                render(ex, v, HttpResponseStatus.OK, notice, name.get(), null, null, null, clear);
              } else {
                String generic = notice.replace("%s", "the application");
                render(ex, v, HttpResponseStatus.OK, generic, null, null, null, null, clear);
              }
            });
  }

  /**
   * Renders the page; {@code noticeName}, when not null, is the application the notice names in
   * place of its {@code %s}; {@code typed}, when not null, is the policy form as the visitor sent
   * it (shown again after a refusal instead of the saved values), and {@code detail} the refusal's
   * technical reason, behind "Technical details".
   */
  private void render(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String notice,
      String error,
      String detail) {
    render(ex, v, status, notice, null, error, detail, null, null);
  }

  private void render(
      HttpExchange ex,
      PageSupport.Visitor v,
      HttpResponseStatus status,
      String notice,
      String noticeName,
      String error,
      String detail,
      Map<String, String> typed,
      Consumer<HttpHeaders> more) {
    String user = v.subject();
    PairedDevicesSection section = pairedDevices;
    CompletionStage<List<Map<String, Object>>> devices =
        section == null
            ? java.util.concurrent.CompletableFuture.completedFuture(List.of())
            : section.rows(user);
    grants
        .list(user)
        .thenCombine(settings.get(user), (list, s) -> model(v, list, s, typed))
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
              if (noticeName == null) {
                m.put("notice", notice);
              } else {
                // The name is isolated from the sentence around it (a right-to-left name would
                // otherwise reorder its neighbours).
                int at = notice.indexOf("%s");
                m.put(
                    "namedNotice",
                    Map.of(
                        "lead",
                        notice.substring(0, at),
                        "name",
                        noticeName,
                        "tail",
                        notice.substring(at + 2)));
              }
              m.put("error", error);
              m.put("errorDetail", detail);
              pages.renderWithHeaders(ex, v, status, "settings", m, more);
            });
  }

  private Map<String, Object> model(
      PageSupport.Visitor v,
      List<GrantService.GrantView> list,
      UserSettings s,
      Map<String, String> typed) {
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
    if (typed == null) {
      m.put("online", choices(UserSettings.ONLINE_CHOICES, s.onlineWithinMinutes()));
      m.put("away", choices(UserSettings.AWAY_CHOICES, s.awayAfterMinutes()));
      m.put("offline", choices(UserSettings.OFFLINE_CHOICES, s.offlineAfterMinutes()));
      m.put("customStatus", s.customStatus());
      m.put("awayMessage", s.awayMessage());
    } else {
      m.put("online", choices(UserSettings.ONLINE_CHOICES, typed.get("online_within_minutes")));
      m.put("away", choices(UserSettings.AWAY_CHOICES, typed.get("away_after_minutes")));
      m.put("offline", choices(UserSettings.OFFLINE_CHOICES, typed.get("offline_after_minutes")));
      m.put("customStatus", typed.get("custom_status"));
      m.put("awayMessage", typed.get("away_message"));
      m.put("policyRefused", true);
    }
    return m;
  }

  private static List<Map<String, Object>> choices(int[] values, int selected) {
    return choices(values, Integer.toString(selected));
  }

  private static List<Map<String, Object>> choices(int[] values, String selected) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (int value : values) {
      out.add(Map.of("value", value, "selected", Integer.toString(value).equals(selected)));
    }
    return out;
  }

  /** The policy form as sent, each field cut to a bounded length, for showing it again. */
  private static Map<String, String> typed(Map<String, List<String>> form) {
    Map<String, String> typed = new HashMap<>();
    for (String name : POLICY_FIELDS) {
      String value = PageSupport.field(form, name);
      if (value == null) {
        value = "";
      }
      typed.put(name, value.length() > 1000 ? value.substring(0, 1000) : value);
    }
    return typed;
  }

  /** A refusal for the person at the page, and its technical reason. */
  private void refused(
      HttpExchange ex, PageSupport.Visitor v, ProtocolException e, Map<String, List<String>> form) {
    String words =
        e instanceof SettingsService.Refused r
            ? r.inWords()
            : "These settings could not be saved. Check what you chose and try again.";
    render(
        ex,
        v,
        HttpResponseStatus.valueOf(e.code().httpStatus()),
        null,
        null,
        words,
        e.reason(),
        typed(form),
        null);
  }

  private void save(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    SettingsService.Change change;
    try {
      change =
          new SettingsService.Change(
              minutes(form, "online_within_minutes", "Show me online"),
              minutes(form, "away_after_minutes", "Show me away"),
              minutes(form, "offline_after_minutes", "Show me offline"),
              PageSupport.field(form, "custom_status"),
              PageSupport.field(form, "away_message"));
    } catch (ProtocolException e) {
      refused(ex, v, e, form);
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
              } else if (pe instanceof RetryLaterException later) {
                // Too many changes in a short time: the error page, as the other page limits.
                pages.retryLaterPage(ex, v, later);
              } else {
                refused(ex, v, pe, form);
              }
            });
  }

  private static Integer minutes(Map<String, List<String>> form, String name, String label) {
    String s = PageSupport.field(form, name);
    if (s == null || s.isEmpty()) {
      return null;
    }
    if (!s.matches("[0-9]{1,3}")) {
      throw new SettingsService.Refused(
          name + " must be a number of minutes",
          "Choose one of the times offered for \u201c" + label + "\u201d.");
    }
    return Integer.parseInt(s);
  }

  private void act(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!pages.formAllowed(ex, v, form)) {
      return;
    }
    String puid = ex.param("puid");
    String action = ex.param("action");
    CompletionStage<org.presence.store.permission.Grant> done =
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
            pages.redirectWithFlash(
                ex,
                v,
                "/settings?done=" + action,
                NOTICE_COOKIE,
                action + "-" + g.appId(),
                "/settings",
                NOTICE_COOKIE_SECONDS);
          }
        });
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
      String agent = s.userAgent().isEmpty() ? "unknown browser" : s.userAgent();
      // A browser names itself with up to 200 characters; the table shows the start of it and the
      // whole in the cell's title.
      r.put("userAgent", agent);
      r.put(
          "userAgentShown",
          agent.length() > AGENT_SHOWN ? agent.substring(0, AGENT_SHOWN - 1) + "\u2026" : agent);
      r.put("current", s.idHash().equals(current));
      rows.add(r);
    }
    m.put("sessions", rows);
    return m;
  }

  /** How much of a browser's name the sessions table shows. */
  static final int AGENT_SHOWN = 60;

  private static final DateTimeFormatter SESSION_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private void endSession(HttpExchange ex) {
    PageSupport.Visitor v = pages.visitor(ex);
    Map<String, List<String>> form = PageSupport.form(ex);
    if (!pages.formAllowed(ex, v, form)) {
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
    if (!pages.formAllowed(ex, v, form)) {
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
    if (!pages.formAllowed(ex, v, form)) {
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
