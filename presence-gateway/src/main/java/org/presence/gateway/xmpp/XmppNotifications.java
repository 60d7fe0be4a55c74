package org.presence.gateway.xmpp;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.notify.NotificationService;
import org.presence.gateway.updates.AppUpdates;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.api.NotificationBatchCodec.ItemResult;
import org.presence.protocol.api.NotificationBatchCodec.Judged;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Headline messages as live notifications (docs/xmpp.md): {@code <message type='headline'
 * to='<puid>@<domain>'>} with a {@code <body>} (the message) and an XEP-0066 {@code <x
 * xmlns='jabber:x:oob'><url>} (the action) is one item of the notification API, judged by the same
 * codec with the same limits and posted through the same {@link NotificationService} (the
 * application's rate limit, the (user, app) FIFO). A refused one gets the matching stanza error; a
 * stored one nothing (XMPP messages are not acknowledged), unless it asked for an XEP-0184 receipt,
 * which comes later as a message.
 */
final class XmppNotifications {
  private static final Logger LOG = LoggerFactory.getLogger(XmppNotifications.class);
  static final String OOB_NS = "jabber:x:oob";

  private final NotificationService service;
  private final NotificationBatchCodec codec;
  private final AppCache apps;
  private final String domain;

  XmppNotifications(
      NotificationService service, NotificationBatchCodec codec, AppCache apps, String domain) {
    this.service = service;
    this.codec = codec;
    this.apps = apps;
    this.domain = domain;
  }

  void message(XmppSession s, XmlElement m) {
    String type = m.attr("type");
    if ("error".equals(type)) {
      return;
    }
    if (!"headline".equals(type)) {
      s.stanzaError(m, "cancel", "service-unavailable", "only headline messages are notifications");
      return;
    }
    String to = m.attr("to");
    String puid = puid(to);
    if (puid == null) {
      if (to != null && Jid.valid(to)) {
        s.stanzaError(m, "cancel", "item-not-found", "not a user of this application");
      } else {
        // Not echoed as the answer's from: it is no JID (as the iq path answers).
        s.stanzaError(
            "message", m.attr("id"), null, "modify", "jid-malformed", "to: <puid>@" + domain);
      }
      return;
    }
    XmlElement body = m.child("body", XmppSession.CLIENT_NS);
    XmlElement oob = m.child("x", OOB_NS);
    XmlElement url = oob == null ? null : oob.child("url", OOB_NS);
    boolean receipts = m.child("request", XmppSession.RECEIPTS_NS) != null;
    List<Judged> judged;
    ByteBuf json =
        item(
            puid,
            body == null ? null : body.text(),
            url == null ? null : url.text().strip(),
            receipts);
    try {
      judged = codec.decode(json);
    } catch (ProtocolException e) {
      s.stanzaError(m, "modify", "bad-request", e.detail());
      return;
    } finally {
      json.release();
    }
    Judged j = judged.get(0);
    if (!j.ok()) {
      s.stanzaError(m, "modify", "bad-request", j.error().detail());
      return;
    }
    String id = m.attr("id");
    AppUpdates.Admission admission = s.admission();
    apps.find(s.appId())
        .thenCompose(
            app -> {
              if (app.isEmpty() || !app.get().active()) {
                throw new ProtocolException(ErrorCode.APP_NOT_ACTIVE);
              }
              if (admission == null || !admission.keyCurrent(app.get())) {
                // Authenticated with a key regenerated since: the key no longer works.
                throw new ProtocolException(ErrorCode.INVALID_API_KEY);
              }
              return service.accept(app.get(), judged);
            })
        .whenCompleteAsync(
            (ack, e) -> {
              if (!s.open()) {
                return;
              }
              if (e != null) {
                Throwable t =
                    e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (t instanceof ProtocolException pe && pe.code() == ErrorCode.APP_NOT_ACTIVE) {
                  s.stanzaError(
                      "message", id, to, "auth", "forbidden", "the application is not active");
                  s.fail(ErrorCode.APP_NOT_ACTIVE, AppUpdates.reason(ErrorCode.APP_NOT_ACTIVE));
                } else if (t instanceof ProtocolException pe
                    && pe.code() == ErrorCode.INVALID_API_KEY) {
                  s.stanzaError(
                      "message", id, to, "auth", "not-authorized", "the API key was regenerated");
                  s.fail(ErrorCode.INVALID_API_KEY, "the API key was regenerated");
                } else {
                  LOG.warn("notification of app {} over xmpp failed: {}", s.appId(), t.toString());
                  s.stanzaError("message", id, to, "wait", "internal-server-error", null);
                }
                return;
              }
              ItemResult r = ack.results().get(0);
              if (r.errno() == 0) {
                if (receipts) {
                  s.posted(r.id(), id);
                }
                return;
              }
              ErrorCode code = ErrorCode.fromErrno(r.errno()).orElse(null);
              String[] err = condition(code);
              s.stanzaError("message", id, to, err[0], err[1], r.reason());
            },
            s.executor());
  }

  /** The stanza error type and condition of a refused item. */
  static String[] condition(ErrorCode code) {
    if (code == null) {
      return new String[] {"cancel", "undefined-condition"};
    }
    return switch (code) {
      case APP_RATE_LIMITED -> new String[] {"wait", "resource-constraint"};
      case UNKNOWN_PUID, GRANT_REVOKED -> new String[] {"cancel", "item-not-found"};
      case GRANT_PAUSED -> new String[] {"wait", "recipient-unavailable"};
      case INVALID_NOTIFICATION, MALFORMED_JSON -> new String[] {"modify", "bad-request"};
      default -> new String[] {"wait", "internal-server-error"};
    };
  }

  /** The PUID of {@code <puid>@<domain>} (no resource), or {@code null}. */
  private String puid(String to) {
    if (to == null || !Jid.valid(to)) {
      return null;
    }
    int at = to.indexOf('@');
    if (at <= 0 || to.indexOf('/') >= 0 || !to.substring(at + 1).equalsIgnoreCase(domain)) {
      return null;
    }
    return Jid.puid(to.substring(0, at));
  }

  /** One notification item as the API's JSON list, for the API's own codec to judge. */
  private static ByteBuf item(String puid, String message, String action, boolean receipts) {
    ByteBuf out = Unpooled.buffer(256);
    try (JsonGenerator g =
        Json.documents().createGenerator((java.io.OutputStream) new ByteBufOutputStream(out))) {
      g.writeStartArray();
      g.writeStartObject();
      g.writeStringField("UID", puid);
      if (message != null) {
        g.writeStringField("message", message);
      }
      if (action != null) {
        g.writeStringField("action", action);
      }
      if (receipts) {
        g.writeBooleanField("receipts", true);
      }
      g.writeEndObject();
      g.writeEndArray();
    } catch (IOException e) {
      out.release();
      throw new UncheckedIOException(e);
    }
    return out;
  }
}
