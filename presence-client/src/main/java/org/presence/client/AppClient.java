package org.presence.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An AppService's connection to Presence (docs/app-updates.md, docs/notifications.md).
 *
 * <p><b>Updates.</b> {@link Builder#start()} opens the update channel ({@code ws://node/<appid>})
 * and keeps it open: the listener gets a {@link Snapshot} (each page as it comes, then all its
 * pages merged), then every {@link Update} in {@code seq} order, and receipts. {@link #since()} is
 * the resumable cursor (the {@code seq} the listener last handled); persist it and pass it to
 * {@link Builder#since(long)} to resume after a restart without a gap. When the connection is lost
 * (the node stopping, the network, a consumer too slow), the client reconnects after a backoff with
 * full jitter and resumes from its cursor; a "fresh" snapshot means the node no longer had what
 * came after it (start over from the snapshot). {@link #users()} is the merged view: every user who
 * is not offline (a client started with {@code since} holds only the users changed since then,
 * until a snapshot). When the WebSocket cannot be opened (a proxy that refuses the upgrade), the
 * client falls back to the long-held HTTP stream ({@code GET /<appid>/presence.json}), which
 * carries the same frames.
 *
 * <p>Listener calls come one at a time from the client's thread, and the next frame is read only
 * after the listener returns: a listener that stalls stops the reads (the node keeps a position,
 * not a queue, and catches the connection up from its log when it reads again).
 *
 * <p><b>Notifications.</b> {@link #post} sends a batch and returns the per-item results; requests
 * and items refused by the application's rate limit (429, errno 172) are sent again after the
 * node's {@code Retry-After}, at most {@link Builder#rateLimitRetries(int)} times.
 */
public final class AppClient implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(AppClient.class.getName());

  /** What an application is told; calls come from the client's thread, one at a time. */
  public interface Listener {
    /** The complete snapshot: replace what you held (see {@link Snapshot#fresh()}). */
    default void onSnapshot(Snapshot snapshot) {}

    /**
     * One frame of a snapshot, as soon as it is read, before {@link #onSnapshot} (which comes after
     * the last page, with every page merged): an application of many users can apply the snapshot
     * page by page instead of waiting for its last frame. A {@linkplain SnapshotPage#first() first}
     * page starts a snapshot (replace what you held, as {@link #onSnapshot} says, once its last
     * page came): a snapshot cut off by a lost connection starts again from its first page on the
     * next.
     */
    default void onSnapshotPage(SnapshotPage page) {}

    /** Updates, in {@code seq} order; an {@code offline} update removes the user. */
    default void onUpdates(List<Update> updates) {}

    /** Receipts of notifications that asked for them. */
    default void onReceipts(List<Receipt> receipts) {}

    /** Connected over {@code transport}. */
    default void onConnected(Transport transport) {}

    /**
     * The connection ended or could not be made; {@code retryIn} is the wait before the next
     * attempt, or {@code null} when the client stopped (closed, or a key or application problem:
     * errno 112, 130, 132).
     */
    default void onDisconnected(PresenceException cause, Duration retryIn) {}
  }

  /** How updates arrive. */
  public enum Transport {
    /** The WebSocket, falling back to the stream when the WebSocket cannot be opened. */
    AUTO,
    WEBSOCKET,
    STREAM
  }

  /** A user's presence as the application sees it; {@code message} is {@code null} when none. */
  public record Presence(String uid, PresenceStatus status, String message) {}

  /** One update: a user's new presence and its number. */
  public record Update(String uid, PresenceStatus status, String message, long seq) {}

  /**
   * Every user who is not offline, at update number {@code seq}. {@code fresh}: the node no longer
   * had the updates after the cursor (or the connection fell an hour behind); forget what you knew.
   */
  public record Snapshot(List<Presence> users, long seq, boolean fresh) {}

  /**
   * One frame of a {@link Snapshot}: its users (not offline), the {@code seq} the snapshot stands
   * at, whether it is fresh (as far as the frames so far said), and whether this is its first or
   * last frame (one frame may be both).
   */
  public record SnapshotPage(
      List<Presence> users, long seq, boolean fresh, boolean first, boolean last) {}

  /**
   * A notification receipt ({@code delivered}, {@code acted}, {@code dismissed}, {@code missed}).
   */
  public record Receipt(String id, String uid, String state, long atMillis) {}

  /** One item to post; {@code ttlSeconds} 0 for the node's default. */
  public record Notification(
      String uid, String message, String action, int ttlSeconds, boolean receipts) {
    public Notification(String uid, String message, String action) {
      this(uid, message, action, 0, false);
    }
  }

  /**
   * One item's result: stored ({@code ok}, with its {@code id}, its queue's size and the ids it
   * pushed out) or refused ({@code errno}, {@code reason}).
   */
  public record ItemResult(
      boolean ok, String id, long queueSize, List<String> dropped, int errno, String reason) {}

  /**
   * A batch's answer: {@code OK}, {@code PARTIAL} or {@code KO}, the fullest queue it touched
   * ({@code -1} when nothing was stored), and one result per item in the batch's order.
   */
  public record PostResult(String result, long queueSize, List<ItemResult> results) {}

  private static final int MAX_FRAME_CHARS = 4 << 20;
  private static final int INVALID_API_KEY = 112;
  private static final int UNKNOWN_APP = 130;
  private static final int APP_NOT_ACTIVE = 132;
  private static final int INVALID_SINCE = 190;

  private final URI node;
  private final long appId;
  private final String key;
  private final Listener listener;
  private final Backoff reconnect;
  private final HttpClient http;
  private final Duration idleTimeout;
  private final Duration stableAfter;
  private final Duration answerTimeout;
  private final int rateLimitRetries;
  private final boolean updates;
  private final ScheduledExecutorService exec;

  // State below: only on exec.
  private Transport transport;
  private long since;
  private final Map<String, Presence> users = new LinkedHashMap<>();
  private final List<Presence> snapshotPages = new ArrayList<>();
  private boolean snapshotFresh;

  /** Whether a frame of the snapshot under way came (the next one is then not its first). */
  private boolean snapshotStarted;

  private int generation;
  private boolean stopped;
  private WebSocket socket;
  private Frames frames;
  private InputStream stream;
  private boolean open;
  private PresenceException lastError;
  private long lastHeardNanos;
  private volatile long cursor;

  private AppClient(Builder b) {
    this.node = b.node;
    this.appId = b.appId;
    this.key = b.key;
    this.listener = b.listener;
    this.reconnect = b.backoff.copy();
    this.http = b.http != null ? b.http : HttpClient.newHttpClient();
    this.idleTimeout = b.idleTimeout;
    this.stableAfter = b.stableAfter;
    this.answerTimeout = b.answerTimeout;
    this.rateLimitRetries = b.rateLimitRetries;
    this.updates = b.updates;
    this.transport = b.transport;
    this.since = b.since;
    this.cursor = b.since;
    this.exec =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "presence-app-client-" + appId);
              t.setDaemon(true);
              return t;
            });
  }

  /** A builder for application {@code appId} with API key {@code key} on {@code node}. */
  public static Builder builder(URI node, long appId, String key) {
    return new Builder(node, appId, key);
  }

  /** The cursor: the {@code seq} of the last update (or snapshot) handled; {@code -1}: none. */
  public long since() {
    return cursor;
  }

  /**
   * Every user who is not offline, as of the last update handled (started with {@code since}: only
   * those changed since, until a snapshot comes).
   */
  public CompletableFuture<List<Presence>> users() {
    return CompletableFuture.supplyAsync(() -> List.copyOf(users.values()), exec);
  }

  private void begin() {
    if (updates) {
      run(this::attempt);
      long period = Math.max(100, idleTimeout.toMillis() / 4);
      exec.scheduleWithFixedDelay(this::checkIdle, period, period, TimeUnit.MILLISECONDS);
    }
  }

  /** Ends the update connection and the client's thread; closing again does nothing. */
  @Override
  public void close() {
    if (exec.isShutdown()) {
      return;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    run(
        () -> {
          stopped = true;
          generation++;
          drop();
          done.complete(null);
        });
    try {
      done.get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Closing anyway.
    } finally {
      exec.shutdownNow();
    }
  }

  private void run(Runnable task) {
    try {
      exec.execute(task);
    } catch (RejectedExecutionException closed) {
      // A connection's events after close(): nothing to do.
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The update channel (on exec)

  private void attempt() {
    if (stopped) {
      return;
    }
    int gen = ++generation;
    open = false;
    lastHeardNanos = System.nanoTime();
    if (transport == Transport.STREAM) {
      openStream(gen);
      return;
    }
    Frames f = new Frames(new Sink(gen), MAX_FRAME_CHARS);
    http.newWebSocketBuilder()
        .connectTimeout(answerTimeout)
        .buildAsync(Frames.webSocketUri(node, "/" + appId), f)
        .whenCompleteAsync(
            (ws, e) -> {
              if (gen != generation || stopped) {
                if (ws != null) {
                  ws.abort();
                }
                return;
              }
              if (e != null) {
                Throwable cause = unwrap(e);
                if (transport == Transport.AUTO && cause instanceof WebSocketHandshakeException) {
                  // The node (or a proxy on the way) answered the upgrade with plain HTTP.
                  transport = Transport.STREAM;
                  openStream(gen);
                  return;
                }
                lost(gen, new PresenceException("Cannot open the update channel", cause));
                return;
              }
              socket = ws;
              frames = f;
              String hello =
                  ClientJson.write(
                      g -> {
                        g.writeStartObject();
                        g.writeStringField("key", key);
                        if (since >= 0) {
                          g.writeNumberField("since", since);
                        }
                        g.writeEndObject();
                      });
              ws.sendText(hello, true)
                  .whenCompleteAsync(
                      (w, x) -> {
                        if (x != null) {
                          lost(gen, new PresenceException("Send failed", unwrap(x)));
                        }
                      },
                      exec);
            },
            exec);
  }

  private void openStream(int gen) {
    String path = "/" + appId + "/presence.json" + (since >= 0 ? "?since=" + since : "");
    HttpRequest request =
        HttpRequest.newBuilder(Frames.httpUri(node, path))
            .header("Authorization", "Bearer " + key)
            .header("Accept", "application/x-ndjson")
            // Until the answer's header: a server that takes the request and never answers is
            // a lost attempt, not a wait forever.
            .timeout(answerTimeout)
            .GET()
            .build();
    http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
        .whenCompleteAsync(
            (r, e) -> {
              if (gen != generation || stopped) {
                if (r != null) {
                  closeQuietly(r.body());
                }
                return;
              }
              if (e != null) {
                lost(gen, new PresenceException("Cannot open the stream", unwrap(e)));
                return;
              }
              if (r.statusCode() != 200) {
                PresenceException refused = error(r.statusCode(), readAll(r.body()));
                lost(gen, refused);
                return;
              }
              stream = r.body();
              connected(gen);
              Thread reader = new Thread(() -> readStream(gen, r.body()), "presence-app-stream");
              reader.setDaemon(true);
              reader.start();
            },
            exec);
  }

  /** On the stream's own thread: each line is handled on exec before the next is read. */
  private void readStream(int gen, InputStream body) {
    PresenceException end = new PresenceException(PresenceException.NO_ERRNO, 0, "Stream ended");
    try (Reader chars = new InputStreamReader(body, StandardCharsets.UTF_8)) {
      LineReader lines = new LineReader(chars, MAX_FRAME_CHARS);
      String line;
      while ((line = lines.next()) != null) {
        String l = line;
        CompletableFuture<Void> handled = new CompletableFuture<>();
        run(
            () -> {
              try {
                if (gen == generation) {
                  lastHeardNanos = System.nanoTime();
                  if (!l.isEmpty()) {
                    frame(gen, l);
                    lastHeardNanos = System.nanoTime();
                  }
                }
                handled.complete(null);
              } catch (RuntimeException x) {
                handled.completeExceptionally(x);
              }
            });
        handled.get();
        if (gen != generation) {
          return;
        }
      }
    } catch (ExecutionException e) {
      end =
          e.getCause() instanceof PresenceException p
              ? p
              : new PresenceException("Listener failed", e.getCause());
    } catch (PresenceException e) {
      end = e;
    } catch (IOException e) {
      end = new PresenceException("Stream failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      end = new PresenceException("Stream failed", e);
    }
    PresenceException why = end;
    run(() -> lost(gen, why));
  }

  /**
   * Lines of at most {@code max} characters ({@code \n} or {@code \r\n}); a longer one fails with
   * errno −5 (FRAME_TOO_LARGE) before it is held whole, as a WebSocket frame over the cap does.
   */
  private static final class LineReader {
    private final Reader in;
    private final int max;
    private final char[] buf = new char[8192];
    private int pos;
    private int len;

    LineReader(Reader in, int max) {
      this.in = in;
      this.max = max;
    }

    String next() throws IOException {
      StringBuilder b = null;
      while (true) {
        if (pos == len) {
          int n = in.read(buf);
          if (n < 0) {
            return b == null || b.length() == 0 ? null : b.toString();
          }
          pos = 0;
          len = n;
        }
        int start = pos;
        while (pos < len && buf[pos] != '\n') {
          pos++;
        }
        if (b == null) {
          b = new StringBuilder();
        }
        if (b.length() + (pos - start) > max) {
          throw new PresenceException(-5, 0, "Stream line over " + max + " characters");
        }
        b.append(buf, start, pos - start);
        if (pos < len) {
          pos++;
          int end = b.length();
          if (end > 0 && b.charAt(end - 1) == '\r') {
            b.setLength(end - 1);
          }
          return b.toString();
        }
      }
    }
  }

  private void connected(int gen) {
    open = true;
    // The backoff starts afresh only once the connection has stayed up for a while (a node that
    // accepts and drops at once is retried with a growing wait).
    exec.schedule(
        () -> {
          if (gen == generation && open) {
            reconnect.reset();
          }
        },
        stableAfter.toMillis(),
        TimeUnit.MILLISECONDS);
    Transport t = transport == Transport.STREAM ? Transport.STREAM : Transport.WEBSOCKET;
    tell("onConnected", () -> listener.onConnected(t));
  }

  /**
   * Calls the listener's {@code onConnected} or {@code onDisconnected}. An exception it throws is
   * logged and otherwise ignored, so that it cannot end a connection or stop the reconnects.
   */
  private static void tell(String what, Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "AppClient: the listener's " + what + " threw", e);
    }
  }

  private void checkIdle() {
    if ((socket != null || stream != null)
        && !stopped
        && System.nanoTime() - lastHeardNanos > idleTimeout.toNanos()) {
      lost(generation, new PresenceException(PresenceException.NO_ERRNO, 0, "Node silent"));
    }
  }

  private void drop() {
    WebSocket ws = socket;
    socket = null;
    frames = null;
    if (ws != null) {
      ws.sendClose(WebSocket.NORMAL_CLOSURE, "").whenComplete((w, e) -> ws.abort());
    }
    InputStream s = stream;
    stream = null;
    if (s != null) {
      closeQuietly(s);
    }
    snapshotPages.clear();
    snapshotStarted = false;
  }

  private void lost(int gen, PresenceException cause) {
    if (gen != generation || stopped) {
      return;
    }
    generation++;
    PresenceException why = lastError != null ? lastError : cause;
    lastError = null;
    open = false;
    drop();
    int errno = why.errno();
    if (errno == INVALID_API_KEY || errno == UNKNOWN_APP || errno == APP_NOT_ACTIVE) {
      stopped = true;
      tell("onDisconnected", () -> listener.onDisconnected(why, null));
      return;
    }
    if (errno == INVALID_SINCE) {
      // The cursor is ahead of the node's log (another deployment?): start from a snapshot.
      since = -1;
    }
    Duration wait = reconnect.next();
    exec.schedule(this::attempt, wait.toMillis(), TimeUnit.MILLISECONDS);
    tell("onDisconnected", () -> listener.onDisconnected(why, wait));
  }

  private final class Sink implements Frames.Sink {
    private final int gen;

    Sink(int gen) {
      this.gen = gen;
    }

    @Override
    public void text(String frame) {
      run(
          () -> {
            if (gen != generation) {
              return;
            }
            lastHeardNanos = System.nanoTime();
            try {
              frame(gen, frame);
            } catch (PresenceException e) {
              lost(gen, e);
              return;
            } catch (RuntimeException e) {
              lost(gen, new PresenceException("Listener failed", e));
              return;
            }
            // A listener that took long is not a silent node.
            lastHeardNanos = System.nanoTime();
            Frames f = frames;
            if (f != null && gen == generation) {
              f.more();
            }
          });
    }

    @Override
    public void alive() {
      run(
          () -> {
            if (gen == generation) {
              lastHeardNanos = System.nanoTime();
            }
          });
    }

    @Override
    public void closed(int code, String reason) {
      run(
          () ->
              lost(
                  gen,
                  // Without an error frame before it, the close code is read as its errno
                  // (4112: 112, the key regenerated), as DeviceClient does.
                  new PresenceException(
                      DeviceClient.closeErrno(code), 0, "Closed by the node (" + code + ")")));
    }

    @Override
    public void failed(Throwable error) {
      run(() -> lost(gen, new PresenceException("Connection failed", error)));
    }
  }

  /** One frame of the channel or line of the stream (on exec). */
  private void frame(int gen, String text) {
    Object doc = ClientJson.read(text);
    List<Object> list = ClientJson.list(doc);
    if (list != null) {
      updates(list);
      return;
    }
    Map<String, Object> m = ClientJson.object(doc);
    if (m == null) {
      throw new PresenceException(10, 0, "Unexpected frame from the node");
    }
    if (m.containsKey("snapshot")) {
      snapshot(m);
    } else if (m.containsKey("receipts")) {
      receipts(ClientJson.list(m.get("receipts")));
    } else if (ClientJson.isTrue(m, "result")) {
      if (!open) {
        connected(gen);
      }
    } else if (m.containsKey("errno")) {
      int errno = (int) ClientJson.number(m, "errno", 0);
      lastError =
          new PresenceException(
              errno, 0, Objects.requireNonNullElse(ClientJson.string(m, "reason"), ""));
    }
  }

  private void snapshot(Map<String, Object> m) {
    List<Object> page = ClientJson.list(m.get("snapshot"));
    boolean first = !snapshotStarted;
    snapshotStarted = true;
    List<Presence> listed = new ArrayList<>();
    if (page != null) {
      for (Object o : page) {
        Presence p = presence(ClientJson.object(o));
        if (p != null) {
          listed.add(p);
        }
      }
    }
    snapshotPages.addAll(listed);
    snapshotFresh |= ClientJson.isTrue(m, "fresh");
    boolean done = ClientJson.isTrue(m, "done");
    long seq = ClientJson.number(m, "seq", 0);
    listener.onSnapshotPage(new SnapshotPage(List.copyOf(listed), seq, snapshotFresh, first, done));
    if (!done) {
      return;
    }
    snapshotStarted = false;
    Snapshot s = new Snapshot(List.copyOf(snapshotPages), seq, snapshotFresh);
    snapshotPages.clear();
    snapshotFresh = false;
    users.clear();
    for (Presence p : s.users()) {
      users.put(p.uid(), p);
    }
    listener.onSnapshot(s);
    since = seq;
    cursor = seq;
  }

  private void updates(List<Object> items) {
    List<Update> out = new ArrayList<>();
    for (Object o : items) {
      Map<String, Object> u = ClientJson.object(o);
      Presence p = presence(u);
      long seq = u == null ? -1 : ClientJson.number(u, "seq", -1);
      if (p == null || seq < 0 || seq <= since) {
        continue;
      }
      out.add(new Update(p.uid(), p.status(), p.message(), seq));
    }
    if (out.isEmpty()) {
      return;
    }
    for (Update u : out) {
      if (u.status() == PresenceStatus.OFFLINE) {
        users.remove(u.uid());
      } else {
        users.put(u.uid(), new Presence(u.uid(), u.status(), u.message()));
      }
    }
    listener.onUpdates(List.copyOf(out));
    since = out.get(out.size() - 1).seq();
    cursor = since;
  }

  private static Presence presence(Map<String, Object> m) {
    if (m == null) {
      return null;
    }
    String uid = ClientJson.string(m, "UID");
    PresenceStatus status = PresenceStatus.fromWire(ClientJson.string(m, "status"));
    if (uid == null || status == null) {
      return null;
    }
    return new Presence(uid, status, ClientJson.string(m, "message"));
  }

  private void receipts(List<Object> items) {
    if (items == null) {
      return;
    }
    List<Receipt> out = new ArrayList<>();
    for (Object o : items) {
      Map<String, Object> r = ClientJson.object(o);
      if (r != null && ClientJson.string(r, "id") != null) {
        out.add(
            new Receipt(
                ClientJson.string(r, "id"),
                ClientJson.string(r, "UID"),
                ClientJson.string(r, "state"),
                ClientJson.number(r, "at", 0)));
      }
    }
    if (!out.isEmpty()) {
      listener.onReceipts(List.copyOf(out));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Posting notifications

  /**
   * Posts {@code items} (1–100) as one batch. Completes with one result per item; fails with a
   * {@link PresenceException} when the node refused the whole request (after the rate-limit
   * retries, errno 172 with its HTTP 429).
   */
  public CompletableFuture<PostResult> post(List<Notification> items) {
    if (items.isEmpty()) {
      throw new IllegalArgumentException("at least one item");
    }
    ItemResult[] results = new ItemResult[items.size()];
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      all.add(i);
    }
    return postRound(List.copyOf(items), all, results, 0).thenApply(v -> result(results));
  }

  private CompletableFuture<Void> postRound(
      List<Notification> items, List<Integer> indexes, ItemResult[] results, int round) {
    String body =
        ClientJson.write(
            g -> {
              g.writeStartArray();
              for (int i : indexes) {
                Notification n = items.get(i);
                g.writeStartObject();
                g.writeStringField("UID", n.uid());
                g.writeStringField("message", n.message());
                g.writeStringField("action", n.action());
                if (n.ttlSeconds() > 0) {
                  g.writeNumberField("ttl", n.ttlSeconds());
                }
                if (n.receipts()) {
                  g.writeBooleanField("receipts", true);
                }
                g.writeEndObject();
              }
              g.writeEndArray();
            });
    HttpRequest request =
        HttpRequest.newBuilder(Frames.httpUri(node, "/" + appId + "/notification"))
            .header("Authorization", "Bearer " + key)
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .thenCompose(
            r -> {
              long retryAfter = retryAfterMillis(r);
              if (r.statusCode() == 429) {
                if (round < rateLimitRetries) {
                  return later(retryAfter)
                      .thenCompose(v -> postRound(items, indexes, results, round + 1));
                }
                throw error(r.statusCode(), r.body());
              }
              if (r.statusCode() != 200) {
                throw error(r.statusCode(), r.body());
              }
              Map<String, Object> ack = ClientJson.object(ClientJson.read(r.body()));
              List<Object> answers = ack == null ? null : ClientJson.list(ack.get("results"));
              if (answers == null || answers.size() != indexes.size()) {
                throw new PresenceException(10, r.statusCode(), "Unexpected answer: " + r.body());
              }
              List<Integer> limited = new ArrayList<>();
              for (int k = 0; k < answers.size(); k++) {
                ItemResult item = item(ClientJson.object(answers.get(k)));
                results[indexes.get(k)] = item;
                if (!item.ok() && item.errno() == PresenceException.APP_RATE_LIMITED) {
                  limited.add(indexes.get(k));
                }
              }
              if (!limited.isEmpty() && round < rateLimitRetries) {
                return later(retryAfter)
                    .thenCompose(v -> postRound(items, limited, results, round + 1));
              }
              return CompletableFuture.completedFuture(null);
            });
  }

  private static CompletableFuture<Void> later(long millis) {
    Executor delayed = CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS);
    return CompletableFuture.runAsync(() -> {}, delayed);
  }

  private static long retryAfterMillis(HttpResponse<?> r) {
    String h = r.headers().firstValue("Retry-After").orElse("1");
    try {
      return Math.min(60_000, Math.max(0, Long.parseLong(h.trim())) * 1000);
    } catch (NumberFormatException e) {
      return 1000;
    }
  }

  private static ItemResult item(Map<String, Object> m) {
    if (m == null) {
      throw new PresenceException(10, 200, "An item result is not an object");
    }
    if ("OK".equals(ClientJson.string(m, "result"))) {
      List<String> dropped =
          m.get("dropped") == null ? List.of() : ClientJson.strings(m.get("dropped"));
      return new ItemResult(
          true,
          ClientJson.string(m, "id"),
          ClientJson.number(m, "queue_size", -1),
          dropped,
          0,
          null);
    }
    return new ItemResult(
        false,
        null,
        -1,
        List.of(),
        (int) ClientJson.number(m, "errno", 0),
        Objects.requireNonNullElse(ClientJson.string(m, "reason"), ""));
  }

  private static PostResult result(ItemResult[] results) {
    int ok = 0;
    long queue = -1;
    for (ItemResult r : results) {
      if (r.ok()) {
        ok++;
        queue = Math.max(queue, r.queueSize());
      }
    }
    String overall = ok == results.length ? "OK" : ok == 0 ? "KO" : "PARTIAL";
    return new PostResult(overall, queue, Collections.unmodifiableList(List.of(results)));
  }

  /** The error body of a refused request as an exception. */
  private static PresenceException error(int status, String body) {
    try {
      Map<String, Object> m = ClientJson.object(ClientJson.read(body));
      if (m != null && m.get("errno") instanceof Long errno) {
        return new PresenceException(
            errno.intValue(),
            status,
            Objects.requireNonNullElse(ClientJson.string(m, "reason"), ""));
      }
    } catch (PresenceException notJson) {
      // Fall through: not the node's JSON error.
    }
    return new PresenceException(PresenceException.NO_ERRNO, status, "HTTP " + status);
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      // Nothing to do.
    }
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** Settings of an {@link AppClient}. */
  public static final class Builder {
    private final URI node;
    private final long appId;
    private final String key;
    private Listener listener = new Listener() {};
    private Backoff backoff = Backoff.defaults();
    private HttpClient http;
    private Duration idleTimeout = Duration.ofSeconds(75);
    private Duration stableAfter = Duration.ofSeconds(30);
    private Duration answerTimeout = Duration.ofSeconds(15);
    private int rateLimitRetries = 3;
    private Transport transport = Transport.AUTO;
    private long since = -1;
    private boolean updates = true;

    private Builder(URI node, long appId, String key) {
      this.node = Objects.requireNonNull(node, "node");
      this.appId = appId;
      this.key = Objects.requireNonNull(key, "key");
    }

    public Builder listener(Listener listener) {
      this.listener = Objects.requireNonNull(listener);
      return this;
    }

    /** Resume after this {@code seq} (a persisted {@link AppClient#since()}); default: snapshot. */
    public Builder since(long since) {
      this.since = since;
      return this;
    }

    /** The transport (default {@link Transport#AUTO}). */
    public Builder transport(Transport transport) {
      this.transport = Objects.requireNonNull(transport);
      return this;
    }

    /** {@code false}: only post notifications, open no update connection. */
    public Builder updates(boolean updates) {
      this.updates = updates;
      return this;
    }

    /** The reconnect backoff (default: 500 ms doubling to 30 s, full jitter). */
    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff);
      return this;
    }

    /**
     * How long a connection must stay up before the reconnect backoff starts again from its first
     * wait (default 30 s): connections that end sooner count as failed attempts.
     */
    public Builder resetBackoffAfter(Duration stable) {
      this.stableAfter = Objects.requireNonNull(stable);
      return this;
    }

    /**
     * How long to wait for the WebSocket to open, or for the stream's answer (its status and
     * header), before the attempt counts as failed (default 15 s).
     */
    public Builder answerTimeout(Duration timeout) {
      this.answerTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** How many times a rate-limited post is sent again (default 3). */
    public Builder rateLimitRetries(int retries) {
      this.rateLimitRetries = retries;
      return this;
    }

    /** The JDK client to use (default: a new one). */
    public Builder httpClient(HttpClient http) {
      this.http = http;
      return this;
    }

    /**
     * After how long without a frame, ping or keepalive line the connection counts as dead (default
     * 75 s; the node pings a silent connection every 30 s).
     */
    public Builder idleTimeout(Duration timeout) {
      this.idleTimeout = timeout;
      return this;
    }

    /** A started client (connecting in the background). */
    public AppClient start() {
      AppClient c = new AppClient(this);
      c.begin();
      return c;
    }
  }
}
