package org.presence.protocol.error;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The one errno table of Presence, shared by the device channel, the app channels and the HTTP API.
 *
 * <p>Every error a client can see is a constant here. On a WebSocket it travels as {@code
 * {"result": false, "errno": N, "reason": "..."}}; over HTTP the same body comes with {@link
 * #httpStatus()}. The table, with what a client should do for each code, is rendered in {@code
 * docs/errors.md}; a test keeps the two in step.
 *
 * <h2>Sign</h2>
 *
 * A <b>negative</b> errno means the session is lost: the server closes the socket after sending the
 * error (with {@link #closeCode()} in the close frame) and the client must open a new session. A
 * positive errno leaves the session as it was; the offending frame or request is dropped. Errors
 * answered before a session exists (a bad first frame) close the socket whatever their sign, since
 * there is no session to keep.
 *
 * <h2>Ranges</h2>
 *
 * <ul>
 *   <li>10–29: frame and field errors on the WebSocket channels;
 *   <li>30–39: identity (34 is the seeds' "Invalid assertion");
 *   <li>40–49: rate limits and backpressure that keep the session;
 *   <li>100–109: generic HTTP errors;
 *   <li>110–129: API authentication and authorisation;
 *   <li>130–149: applications (registration, domain proof, keys, webhooks);
 *   <li>150–169: grants, PUIDs and the user's settings;
 *   <li>170–179: live notifications;
 *   <li>180–189: presence queries and the admin API;
 *   <li>190–199: the app update channel and stream;
 *   <li>500–509: the server and its backends (temporary: retry with backoff);
 *   <li>−1 to −29: reasons a session ends.
 * </ul>
 *
 * Codes are stable: a code is never reused for another meaning, only retired.
 *
 * <p>{@link #retryable()} says whether the same request may succeed later unchanged (after a
 * backoff); it is the centrifuge "temporary" flag.
 */
public enum ErrorCode {
  // ---- 10–29: frames and fields on the WebSocket channels (session kept) ----
  /** The frame is not well-formed JSON (including invalid UTF-8 or nesting beyond the limit). */
  MALFORMED_JSON(10, 400, "Malformed JSON"),
  /** The {@code type} field names no known message. */
  UNKNOWN_TYPE(11, 400, "Unknown message type"),
  /** A required field is absent. */
  MISSING_FIELD(12, 400, "Missing field"),
  /** A field has the wrong JSON type (a number where a string belongs, say). */
  WRONG_FIELD_TYPE(13, 400, "Wrong type for field"),
  /** The same field appears twice in one object. */
  DUPLICATE_FIELD(14, 400, "Duplicate field"),
  /** A binary (or otherwise non-text) data frame; only text frames carry the protocol. */
  NON_TEXT_FRAME(15, 400, "Only text frames are accepted"),
  /** {@code status} is not one of online, away, unavailable, offline. */
  INVALID_STATUS(16, 400, "Invalid status value"),
  /** The custom status message is longer than the configured limit. */
  MESSAGE_TOO_LONG(17, 400, "Custom message too long"),
  /** More application ids than the configured limit. */
  TOO_MANY_APPLICATION_IDS(18, 400, "Too many application ids"),
  /** An application id that is not a positive integer. */
  INVALID_APPLICATION_ID(19, 400, "Invalid application id"),
  /** The {@code session_id} is not this socket's session. */
  UNKNOWN_SESSION(20, 400, "Unknown or mismatched session_id"),
  /** A field has the right type but a value out of its allowed range or form. */
  INVALID_FIELD_VALUE(21, 400, "Invalid field value"),
  /** A frame other than {@code connect} arrived before the session was opened. */
  NOT_CONNECTED(22, 400, "Session not opened: send a connect request first"),
  /** A second {@code connect} on a socket whose session is already open. */
  ALREADY_CONNECTED(23, 400, "Session already open on this socket"),
  /** The push presence id ({@code xpi}) is tied to another user and cannot be taken over. */
  PRESENCE_ID_TAKEN(24, 409, "Presence id tied to another user"),
  /** A push server reported a presence id ({@code xpi}) that no device has tied to a user. */
  UNKNOWN_PRESENCE_ID(25, 404, "Unknown presence id"),
  /**
   * A {@code refresh} frame's identity token names another user than the session's; the session
   * keeps its former token (and ends when that expires).
   */
  IDENTITY_MISMATCH(26, 403, "Identity token is for another user"),

  // ---- 30–39: identity ----
  /** The identity token is not a valid signed assertion for this service. */
  INVALID_ASSERTION(34, 401, "Invalid assertion"),
  /** The identity token was valid but has expired (or is not valid yet). */
  ASSERTION_EXPIRED(35, 401, "Assertion expired"),
  /** The identity provider's keys could not be fetched; the assertion could not be checked. */
  IDENTITY_UNAVAILABLE(36, 503, "Identity provider unavailable", true),

  // ---- 40–49: rate limits and backpressure (session kept) ----
  /**
   * Over the rate limit; the frame or request was dropped. Wait before sending again. Over HTTP (a
   * user's settings changes, a developer's domain proofs and webhook test calls) it comes with 429
   * and {@code Retry-After}.
   */
  SLOW_DOWN(40, 429, "Slow down", true),
  /** Too many new connections from this address; try again later. */
  TOO_MANY_HANDSHAKES(41, 429, "Too many connection attempts", true),

  // ---- 100–109: generic HTTP ----
  /** The request is malformed (bad request line, headers, query or body). */
  BAD_REQUEST(100, 400, "Malformed request"),
  /** No resource at this path. */
  NOT_FOUND(101, 404, "Not found"),
  /** The resource exists but does not answer this method. */
  METHOD_NOT_ALLOWED(102, 405, "Method not allowed"),
  /** The request (or a frame) is larger than the configured limit. */
  PAYLOAD_TOO_LARGE(103, 413, "Payload too large"),
  /** The body's content type is not one the resource accepts. */
  UNSUPPORTED_MEDIA_TYPE(104, 415, "Unsupported media type"),
  /** The request headers are larger than the configured limit. */
  HEADERS_TOO_LARGE(105, 431, "Request headers too large"),
  /** The signed-in user already holds as many open event streams as allowed; close one first. */
  TOO_MANY_STREAMS(106, 429, "Too many open event streams", true),
  /**
   * The request's header block was not complete within {@code gateway.http-header-timeout}; the
   * connection is closed after this answer.
   */
  REQUEST_TIMEOUT(107, 408, "Request not received in time", true),

  // ---- 110–129: authentication and authorisation ----
  /** No credentials were given where they are required. */
  UNAUTHORIZED(110, 401, "Authentication required"),
  /** The credentials are valid but do not allow this action. */
  FORBIDDEN(111, 403, "Forbidden"),
  /** The API key is wrong, regenerated or belongs to another application. */
  INVALID_API_KEY(112, 401, "Invalid API key"),
  /** A page form was posted without a valid anti-forgery token. */
  CSRF_REJECTED(113, 403, "Invalid or missing anti-forgery token"),

  // ---- 130–149: applications ----
  /** No application has this id. */
  UNKNOWN_APP(130, 404, "Unknown application"),
  /** The application's domain has not been verified yet. */
  APP_NOT_VERIFIED(131, 409, "Application domain not verified"),
  /** The application is not activated (no API key, or deactivated). */
  APP_NOT_ACTIVE(132, 409, "Application not active"),
  /** Fetching {@code http://<domain>/__presence} failed or returned another key. */
  DOMAIN_VERIFICATION_FAILED(133, 422, "Domain verification failed"),
  /** The target resolves to a private, loopback or link-local address that is not allowed. */
  ADDRESS_NOT_ALLOWED(134, 422, "Address not allowed"),
  /** A registration or settings field is missing, too long or malformed. */
  INVALID_APP_FIELD(135, 400, "Invalid field"),
  /** The application is in a state that does not allow this transition. */
  INVALID_APP_STATE(136, 409, "Invalid application state"),
  /** The developer already has as many applications as one may register. */
  TOO_MANY_APPS(137, 409, "Too many applications for this developer"),
  /**
   * The {@code Idempotency-Key} of a registration was used before by this developer for a
   * registration with other fields.
   */
  IDEMPOTENCY_KEY_REUSED(138, 422, "Idempotency-Key used for another request"),
  /** The operator suspended the application: only the operator's resume gives it a key again. */
  APP_SUSPENDED(139, 403, "Application suspended by the operator"),

  // ---- 150–169: grants, PUIDs, settings ----
  /** The redirect URL is not http(s) on the application's verified domain. */
  INVALID_REDIRECT(150, 400, "Invalid redirect URL"),
  /** No grant has this PUID (never granted, or granted to another application). */
  UNKNOWN_PUID(151, 404, "Unknown PUID"),
  /** The user paused presence for this application. */
  GRANT_PAUSED(152, 409, "Grant paused by the user"),
  /** The user revoked this application's grant; the PUID is dead. */
  GRANT_REVOKED(153, 410, "Grant revoked by the user"),
  /** A settings value is out of range. */
  INVALID_SETTING(154, 400, "Invalid setting"),
  /** The user string ({@code id}) of a grant is missing, too long or holds control characters. */
  INVALID_USER_STRING(155, 400, "Invalid user string"),
  /**
   * The user holds as many grants as allowed: {@code grants.max-per-app} for this application
   * (distinct user strings) or {@code grants.max-per-user} in all. Revoking one makes room.
   */
  TOO_MANY_GRANTS(156, 409, "Too many grants"),
  /** The user asked for grants faster than {@code grants.rate} allows; retry after Retry-After. */
  GRANT_RATE_LIMITED(157, 429, "Grant requests too frequent", true),

  // ---- 170–179: live notifications ----
  /** A notification item is malformed (message, action or ttl). */
  INVALID_NOTIFICATION(170, 400, "Invalid notification"),
  /** The batch holds more items than the limit. */
  BATCH_TOO_LARGE(171, 413, "Too many notifications in one batch"),
  /** The application is over its notification rate limit; retry later. */
  APP_RATE_LIMITED(172, 429, "Application rate limit exceeded", true),
  /**
   * A device answered a notification id this node does not know for its user: never delivered to it
   * here, past its ttl (missed), or forgotten under memory pressure.
   */
  UNKNOWN_NOTIFICATION(173, 404, "Unknown notification, or it can no longer be answered"),
  /**
   * The application already has {@code notifications.max-queued-per-app} items queued, over all its
   * users: the item was not stored. 429 rather than 507: the excess is the application's own (what
   * it queued for users who do not connect), not the server's, and it passes as items are delivered
   * or expire; a 5xx would be taken for a fault of the node.
   */
  APP_QUEUE_FULL(174, 429, "Too many notifications queued for this application", true),

  // ---- 180–189: presence queries and the admin API ----
  /** A PUID in a presence query is not 43 base64url characters. */
  INVALID_PUID(180, 400, "Malformed PUID"),
  /** A batch presence query names more PUIDs than the limit (1,000). */
  TOO_MANY_PUIDS(181, 413, "Too many PUIDs in one query"),
  /** The application is over its presence query rate limit; retry after Retry-After. */
  QUERY_RATE_LIMITED(182, 429, "Presence query rate limit exceeded", true),
  /** The admin API is off: no {@code admin.token} (or {@code admin.token-file}) is configured. */
  ADMIN_API_DISABLED(183, 403, "Admin API disabled: no admin token configured"),

  // ---- 190–199: update channel and stream ----
  /** The {@code since} sequence number is malformed or ahead of the application's log. */
  INVALID_SINCE(190, 400, "Invalid since sequence number"),
  /** Too many update connections for this application. */
  TOO_MANY_APP_CONNECTIONS(191, 429, "Too many update connections for this application", true),
  /** The application opened update connections faster than its limit allows. */
  TOO_MANY_APP_RECONNECTS(
      192, 429, "Update connections opened too often for this application", true),

  // ---- 500–509: server and backends (temporary) ----
  /** An unexpected server fault. Retrying may help. */
  INTERNAL_ERROR(500, 500, "Internal server error", true),
  /** A bounded pool or queue is full; the request was refused without effect. */
  SERVER_BUSY(501, 503, "Server busy", true),
  /** The database or the bus did not answer; the request had no effect. */
  BACKEND_UNAVAILABLE(502, 503, "Backend temporarily unavailable", true),

  // ---- −1 to −29: the session is lost ----
  /** No valid connect request arrived within the handshake timeout. */
  CONNECT_TIMEOUT(-1, 408, "No connect request in time"),
  /** A newer connection of the same user and device replaced this one. */
  SESSION_REPLACED(-2, 409, "Session replaced by a newer connection of this device"),
  /** The node is draining; reconnect (to another node). */
  SERVER_SHUTTING_DOWN(-3, 503, "Server shutting down", true, 1001),
  /** The client kept sending far over the rate limit. */
  RATE_LIMIT_EXCEEDED(-4, 429, "Rate limit exceeded; session closed", true),
  /** A frame exceeded the frame size limit. */
  FRAME_TOO_LARGE(-5, 413, "Frame too large"),
  /** The client did not read what the server sent it, and its buffer overflowed. */
  SLOW_CONSUMER(-6, 503, "Client too slow to receive", true),
  /** The client stopped answering keepalive pings. */
  PING_TIMEOUT(-7, 408, "Keepalive timeout", true),
  /** The user has as many devices connected as allowed ({@code device.max-devices-per-user}). */
  TOO_MANY_SESSIONS(-8, 429, "Too many sessions for this user"),
  /** The first frame was not a valid session request. */
  HANDSHAKE_FAILED(-9, 400, "Invalid session request"),
  /** The server lost state it needs for this session (a backend failed mid-session). */
  SESSION_ABORTED(-10, 503, "Session aborted by the server", true),
  /**
   * The session's identity token expired and no {@code refresh} with a new one arrived within
   * {@code device.identity-grace}.
   */
  IDENTITY_EXPIRED(-11, 401, "Identity expired without refresh", true),
  /** The user revoked this paired device (or all of theirs); its tokens are no longer accepted. */
  DEVICE_REVOKED(-12, 401, "Device revoked by its user"),
  /**
   * A text message that is not well-formed UTF-8: RFC 6455 §8.1 has the endpoint fail the
   * connection, so the close code is 1007 (invalid frame payload data, §7.4.1), not {@code 4013}.
   */
  INVALID_UTF8(-13, 400, "Text not valid UTF-8", false, 1007);

  /**
   * Close frames carry at most 123 bytes of reason (RFC 6455 §5.5: 125-byte payload, 2 for the
   * code).
   */
  public static final int MAX_REASON_BYTES = 123;

  private static final Map<Integer, ErrorCode> BY_ERRNO = new HashMap<>();

  static {
    for (ErrorCode c : values()) {
      if (BY_ERRNO.put(c.errno, c) != null) {
        throw new ExceptionInInitializerError("duplicate errno " + c.errno);
      }
    }
  }

  private final int errno;
  private final int httpStatus;
  private final String reason;
  private final boolean retryable;
  private final int closeCode;
  private final String metricLabel;

  ErrorCode(int errno, int httpStatus, String reason) {
    this(errno, httpStatus, reason, false);
  }

  ErrorCode(int errno, int httpStatus, String reason, boolean retryable) {
    this(errno, httpStatus, reason, retryable, 4000 + Math.abs(errno));
  }

  ErrorCode(int errno, int httpStatus, String reason, boolean retryable, int closeCode) {
    this.errno = errno;
    this.httpStatus = httpStatus;
    this.reason = reason;
    this.retryable = retryable;
    this.closeCode = closeCode;
    this.metricLabel = name().toLowerCase(Locale.ROOT);
  }

  /** The wire value of {@code errno}. */
  public int errno() {
    return errno;
  }

  /** The HTTP status used when this error answers an HTTP request. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The default human-readable reason; at most {@link #MAX_REASON_BYTES} UTF-8 bytes. */
  public String reason() {
    return reason;
  }

  /** Whether the same request may succeed later (after a backoff) without change. */
  public boolean retryable() {
    return retryable;
  }

  /** Whether the session (or socket) ends with this error. */
  public boolean sessionLost() {
    return errno < 0;
  }

  /**
   * The WebSocket close code sent when this error closes a socket: {@code 4000 + |errno|} (the
   * private-use range of RFC 6455 §7.4.2), except draining, which uses 1001 (going away), and text
   * that is not UTF-8, which uses 1007 (invalid frame payload data, as RFC 6455 §8.1 requires).
   */
  public int closeCode() {
    return closeCode;
  }

  /** What a client should do on receiving this error (rendered in {@code docs/errors.md}). */
  public String clientAction() {
    return switch (this) {
      case SESSION_REPLACED ->
          "Do not reconnect automatically: a newer connection of this device took over.";
      case SERVER_SHUTTING_DOWN -> "Reconnect (any node) after a short random delay.";
      case SLOW_DOWN ->
          "Wait before sending again (over HTTP, the Retry-After seconds); the frame or request"
              + " was dropped, the session kept.";
      case TOO_MANY_HANDSHAKES -> "Back off before opening new connections from this address.";
      case REQUEST_TIMEOUT ->
          "Send the request again on a new connection, its header and body at once.";
      case NOT_CONNECTED -> "Send a connect request first.";
      case PRESENCE_ID_TAKEN -> "Register a new presence id with the push server, then tie that.";
      case UNKNOWN_PRESENCE_ID ->
          "Push server: drop the report; the device must tie its id (register_push) first.";
      case ASSERTION_EXPIRED -> "Get a fresh identity token, then connect again.";
      case IDENTITY_EXPIRED ->
          "Get a fresh identity token, connect again, and send refresh before expires_at.";
      case DEVICE_REVOKED -> "Do not reconnect: pair the device again (the user revoked it).";
      case IDENTITY_MISMATCH -> "Refresh with a token of the session's own user.";
      case INVALID_ASSERTION -> "Get a valid identity token for this service; do not retry as is.";
      case SLOW_CONSUMER, PING_TIMEOUT ->
          "Reconnect after a backoff; read frames promptly and answer pings.";
      case FRAME_TOO_LARGE -> "Open a new session; keep frames under the size limit.";
      case RATE_LIMIT_EXCEEDED -> "Open a new session after a backoff; send less often.";
      case TOO_MANY_SESSIONS ->
          "Close another device of this user, then connect again after a backoff.";
      case INVALID_SINCE -> "Connect again without since: a snapshot comes first.";
      case TOO_MANY_APP_CONNECTIONS ->
          "Close update connections you no longer use, or reconnect after a backoff.";
      case TOO_MANY_APP_RECONNECTS -> "Reconnect after a backoff; keep connections open.";
      case APP_RATE_LIMITED ->
          "Retry the refused items after the Retry-After seconds; send at most the rate limit.";
      case TOO_MANY_GRANTS ->
          "Reuse an existing grant (the same user string), or revoke one before granting another.";
      case GRANT_RATE_LIMITED -> "Retry after the Retry-After seconds; grant less often.";
      case QUERY_RATE_LIMITED ->
          "Retry after the Retry-After seconds; batch PUIDs, or follow the update channel.";
      case ADMIN_API_DISABLED ->
          "The operator sets admin.token (or admin.token-file) and restarts the node.";
      case APP_QUEUE_FULL ->
          "Retry the refused items later, once queued items are delivered or expire; stop posting"
              + " to users who do not connect, or ask the operator to raise the limit.";
      case IDEMPOTENCY_KEY_REUSED ->
          "Send a new request with a new Idempotency-Key; resend one only with the same body.";
      case APP_SUSPENDED ->
          "Ask the service's operator: the application has no key until they resume it.";
      case UNKNOWN_NOTIFICATION ->
          "Show the notification as missed; it can no longer be acknowledged.";
      default -> {
        if (sessionLost()) {
          yield retryable()
              ? "Open a new session after a backoff."
              : "Fix the cause, then open a new session.";
        }
        yield retryable()
            ? "Retry the same request later, with backoff."
            : "Fix the request; retrying it unchanged fails again.";
      }
    };
  }

  /** Label for the {@code errors} metric: the constant's name in lower case. */
  public String metricLabel() {
    return metricLabel;
  }

  /** The constant for a wire errno, if there is one. */
  public static Optional<ErrorCode> fromErrno(int errno) {
    return Optional.ofNullable(BY_ERRNO.get(errno));
  }

  /**
   * The reason text with an optional detail appended, cut so that it fits a close frame (at most
   * {@link #MAX_REASON_BYTES} UTF-8 bytes, never splitting a character).
   */
  public String reasonWith(String detail) {
    String full = detail == null || detail.isEmpty() ? reason : reason + ": " + detail;
    return fitUtf8(full, MAX_REASON_BYTES);
  }

  static String fitUtf8(String s, int maxBytes) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= maxBytes) {
      return s;
    }
    int end = maxBytes;
    // Step back over UTF-8 continuation bytes (10xxxxxx) so a character is never cut in half.
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
      end--;
    }
    return new String(bytes, 0, end, StandardCharsets.UTF_8);
  }
}
