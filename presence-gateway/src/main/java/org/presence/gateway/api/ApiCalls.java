package org.presence.gateway.api;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
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

  public ApiCalls(IdentityVerifier verifier) {
    this.verifier = verifier;
  }

  /**
   * Runs {@code action}, a call that takes no body, for the exchange and answers {@code status}
   * with {@code writer}; a body sent anyway is still checked ({@link JsonBody#read}).
   */
  public <T> void run(
      HttpExchange ex, HttpResponseStatus status, Action<T> action, Writer<T> writer) {
    run(ex, status, false, action, writer);
  }

  /**
   * Runs {@code action}, a call that takes a JSON object, for the exchange and answers {@code
   * status} with {@code writer}; an empty body or one that is not JSON is refused ({@link
   * JsonBody#required}).
   */
  public <T> void runWithBody(
      HttpExchange ex, HttpResponseStatus status, Action<T> action, Writer<T> writer) {
    run(ex, status, true, action, writer);
  }

  private <T> void run(
      HttpExchange ex,
      HttpResponseStatus status,
      boolean bodyRequired,
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
    identify(ex)
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

  /** The caller's identity from the bearer token; {@code UNAUTHORIZED} without one. */
  public CompletionStage<Identity> identify(HttpExchange ex) {
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
