package org.presence.gateway.pages;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import org.presence.gateway.http.HttpExchange;

/**
 * A file the pages load from this node ({@code /static/presence.css}, {@code copy.js}, {@code
 * demo.js}): the same for every visitor and holding nothing private, so browsers and shared caches
 * may keep it for {@link #MAX_AGE_SECONDS}, then ask again with its ETag (a hash of its bytes) and
 * get 304 Not Modified while it is unchanged. Pages themselves stay {@code no-store}.
 */
public final class StaticAsset {
  /** How long a browser may use its copy without asking again: an hour. */
  public static final long MAX_AGE_SECONDS = 3600;

  private final String contentType;
  private final byte[] body;
  private final String etag;

  public StaticAsset(String contentType, byte[] body) {
    this.contentType = contentType;
    this.body = body;
    this.etag = "\"" + hash(body) + "\"";
  }

  /** Loads {@code resource} from the class path. */
  public static StaticAsset load(String contentType, String resource) {
    return new StaticAsset(contentType, SignInPages.load(resource));
  }

  /** The ETag, quoted. */
  public String etag() {
    return etag;
  }

  /** Answers with the file, or 304 when the request already holds this version. */
  public void serve(HttpExchange ex) {
    boolean fresh = matches(ex.header(HttpHeaderNames.IF_NONE_MATCH), etag);
    ex.respond(
        fresh ? HttpResponseStatus.NOT_MODIFIED : HttpResponseStatus.OK,
        fresh ? null : contentType,
        fresh ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body),
        h -> {
          h.set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=" + MAX_AGE_SECONDS);
          h.set(HttpHeaderNames.ETAG, etag);
          if (fresh) {
            // A 304 has no body; its length, if any, would be the file's.
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
          }
        });
  }

  private static String hash(byte[] body) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(body);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(d).substring(0, 22);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether an If-None-Match header names {@code etag} (weakly compared, RFC 9110 §13.1.2). */
  static boolean matches(String ifNoneMatch, String etag) {
    if (ifNoneMatch == null || ifNoneMatch.length() > 1024) {
      return false;
    }
    for (String tag : ifNoneMatch.split(",", 32)) {
      String t = tag.strip();
      if (t.startsWith("W/")) {
        t = t.substring(2);
      }
      if (t.equals("*") || t.equals(etag)) {
        return true;
      }
    }
    return false;
  }
}
