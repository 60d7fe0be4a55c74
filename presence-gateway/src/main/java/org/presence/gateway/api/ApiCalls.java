package org.presence.gateway.api;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.RetryLaterException;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.identity.IdentityVerifier;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Runs one JSON API call: reads the body while the handler runs, authenticates the caller with
 * their identity token ({@code Authorization: Bearer <token>}), runs the action and answers with
 * its JSON, or with the error body of its failure. Authentication comes first: a caller without a
 * valid token learns nothing about the body or the resource.
 *
 * <p>A paired device's token is the device's credential, not the account's: every call refuses it
 * with {@code UNAUTHORIZED}, but those a device itself makes ({@link #runForDevice}: the daemon's
 * read of its settings), which take it while the device is not revoked.
 */
public final class ApiCalls {
  /** What an authenticated call does. */
  @FunctionalInterface
  public interface Action<T> {
    CompletionStage<T> run(Identity caller, JsonBody body);
  }

  /** Writes the answer of a call. */
  @FunctionalInterface
  public interface Writer<T> {
    void write(com.fasterxml.jackson.core.JsonGenerator g, T value) throws java.io.IOException;
  }

  private final IdentityVerifier verifier;

  /** Whether a paired device is active (not revoked); {@code null} until attached: none is. */
  private volatile Function<String, CompletionStage<Boolean>> pairedDevices;

  public ApiCalls(IdentityVerifier verifier) {
    this.verifier = verifier;
  }

  /**
   * Uses {@code active} to tell revoked paired devices from active ones ({@link #runForDevice}).
   */
  public void attachPairedDevices(Function<String, CompletionStage<Boolean>> active) {
    this.pairedDevices = active;
  }

  /**
   * Runs {@code action}, a call that takes no body, for the exchange and answers {@code status}
   * with {@code writer}; a body sent anyway is still checked ({@link JsonBody#read}).
   */
  public <T> void run(
      HttpExchange ex, HttpResponseStatus status, Action<T> action, Writer<T> writer) {
    run(ex, status, false, false, action, writer);
  }

  /**
   * As {@link #run(HttpExchange, HttpResponseStatus, Action, Writer)}, for a call a device makes
   * itself: a paired device's token is accepted too, unless the device was revoked ({@code
   * DEVICE_REVOKED}).
   */
  public <T> void runForDevice(
      HttpExchange ex, HttpResponseStatus status, Action<T> action, Writer<T> writer) {
    run(ex, status, false, true, action, writer);
  }

  /**
   * Runs {@code action}, a call that takes a JSON object, for the exchange and answers {@code
   * status} with {@code writer}; an empty body or one that is not JSON is refused ({@link
   * JsonBody#required}).
   */
  public <T> void runWithBody(
      HttpExchange ex, HttpResponseStatus status, Action<T> action, Writer<T> writer) {
    run(ex, status, true, false, action, writer);
  }

  private <T> void run(
      HttpExchange ex,
      HttpResponseStatus status,
      boolean bodyRequired,
      boolean deviceAllowed,
      Action<T> action,
      Writer<T> writer) {
    JsonBody body;
    ProtocolException bad;
    try {
      body = bodyRequired ? JsonBody.required(ex) : JsonBody.read(ex);
      bad = null;
    } catch (ProtocolException e) {
      body = null;
      bad = e;
    }
    JsonBody parsed = body;
    ProtocolException badBody = bad;
    (deviceAllowed ? identifyDevice(ex) : identify(ex))
        .thenCompose(
            caller -> {
              if (badBody != null) {
                throw badBody;
              }
              return action.run(caller, parsed);
            })
        .whenComplete(
            (value, failure) -> {
              if (failure != null) {
                fail(ex, failure);
              } else {
                ex.json(status, g -> writer.write(g, value));
              }
            });
  }

  /**
   * The caller's identity from the bearer token; {@code UNAUTHORIZED} without one, or with a paired
   * device's token.
   */
  public CompletionStage<Identity> identify(HttpExchange ex) {
    return bearer(ex).thenApply(Identity::requireAccountCredential);
  }

  /**
   * The caller's identity from the bearer token, a paired device's included while the device is not
   * revoked ({@code DEVICE_REVOKED}); {@code UNAUTHORIZED} without one.
   */
  private CompletionStage<Identity> identifyDevice(HttpExchange ex) {
    return bearer(ex)
        .thenCompose(
            id -> {
              if (!id.deviceCredential()) {
                return CompletableFuture.completedFuture(id);
              }
              Function<String, CompletionStage<Boolean>> active = pairedDevices;
              if (active == null) {
                throw new ProtocolException(ErrorCode.UNAUTHORIZED, Identity.DEVICE_ONLY);
              }
              return active
                  .apply(id.pairedDevice())
                  .thenApply(
                      yes -> {
                        if (!yes) {
                          throw new ProtocolException(ErrorCode.DEVICE_REVOKED, null);
                        }
                        return id;
                      });
            });
  }

  private CompletionStage<Identity> bearer(HttpExchange ex) {
    String auth = ex.header(HttpHeaderNames.AUTHORIZATION);
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.length() <= 7) {
      return CompletableFuture.failedFuture(
          new ProtocolException(
              ErrorCode.UNAUTHORIZED, "send Authorization: Bearer <identity token>"));
    }
    try {
      return verifier.verify(auth.substring(7).strip());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Answers a failure; authentication failures carry {@code WWW-Authenticate: Bearer}, rate limits
   * that know when to come back {@code Retry-After}.
   */
  public static void fail(HttpExchange ex, Throwable failure) {
    Throwable t =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    if (t instanceof ProtocolException pe && pe.code().httpStatus() == 401) {
      ex.error(pe.code(), pe.detail(), h -> h.set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer"));
      return;
    }
    if (t instanceof RetryLaterException later) {
      ex.error(
          later.code(),
          later.detail(),
          h -> h.set(HttpHeaderNames.RETRY_AFTER, Long.toString(later.seconds())));
      return;
    }
    ex.error(t);
  }
}
