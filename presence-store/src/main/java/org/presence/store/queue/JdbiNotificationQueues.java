package org.presence.store.queue;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.StatementContext;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * {@link NotificationQueues} in the database: the embedded H2 file (whose commits reach the file
 * before they return) or PostgreSQL.
 *
 * <p>A batch is one transaction of a handful of statements, however many items it holds: the heads
 * of its queues are locked with one query per application (a head row exists only to be locked),
 * missing heads inserted in one batch, queue sizes and last sequence numbers read with one grouped
 * query, the items inserted in one batch; only queues that overflow cost a query more (to find and
 * delete their oldest items). Every writer of a queue (enqueue, remove, clear) locks its head row
 * first, in (application, user) order, so writers of the same queue take turns and trims never
 * race. Should two transactions still collide (a deadlock detected, a lock wait timed out, two
 * first writers inserting the same head), the loser is rolled back and run again.
 *
 * <p>Each application may have at most {@code maxQueuedPerApp} items queued over all its users
 * ({@code notifications.max-queued-per-app}): {@code notification_app_counts} (migration {@code
 * V35_1}) holds one exact count per application, changed in the transaction that inserts or deletes
 * its items (an enqueue, a drop-oldest, a removal, a clear, the retention sweep). An enqueue locks
 * its applications' count rows, after the heads and in application order, reads how many each has
 * queued, and stores an application's items in the call's order as long as there is room, refusing
 * the rest ({@link Enqueued#APP_FULL}, nothing written for them): concurrent batches of one
 * application take turns on its row and never pass the limit together, and no batch counts the
 * notifications table. The row is held until the batch commits, so one application's batches are
 * stored one after the other (other applications' are not held up); a removal or clear changes the
 * row last, just before it commits.
 */
public final class JdbiNotificationQueues implements NotificationQueues {
  private static final String COLUMNS =
      "id, app_id, puid, source, message, action, created_at, expires_at, receipts";

  /** Values per IN list, so that a statement stays small whatever the batch. */
  private static final int IN_CHUNK = 500;

  /**
   * A batch of the retention sweep ({@link #expireIdle}): the queues nothing was pushed to since
   * {@code :before}, oldest first, at most {@code :n}, read off {@code
   * notification_queues_pushed_at} (migration {@code V30_1}). The limit is in the SQL, as for a
   * page of grants: given to JDBC instead ({@code setMaxRows}), the planner made its plan for every
   * idle queue, which could become a sort of all of them.
   */
  static final String IDLE_QUEUES =
      "SELECT user_key, app_id FROM notification_queues WHERE pushed_at < :before"
          + " ORDER BY pushed_at LIMIT :n";

  /** Runs of one transaction that collided before it is given up. */
  private static final int MAX_ATTEMPTS = 8;

  /** A queue: its head row's key. Ordered by application, then user: the locking order. */
  private record Head(long appId, String userKey) implements Comparable<Head> {
    @Override
    public int compareTo(Head o) {
      int c = Long.compare(appId, o.appId);
      return c != 0 ? c : userKey.compareTo(o.userKey);
    }
  }

  /** What a batch knows of one of its queues while it writes. */
  private static final class QueueState {
    long nextSeq = 1;
    boolean exists;
    int countBefore;
    int added;
    long firstNewSeq;
  }

  private final Db db;
  private final long maxQueuedPerApp;

  /** With the default limit of what one application may have queued. */
  public JdbiNotificationQueues(Db db) {
    this(db, DEFAULT_MAX_QUEUED_PER_APP);
  }

  /** Refusing items of an application that has {@code maxQueuedPerApp} queued. */
  public JdbiNotificationQueues(Db db, long maxQueuedPerApp) {
    if (maxQueuedPerApp < 1) {
      throw new IllegalArgumentException("maxQueuedPerApp must be at least 1");
    }
    this.db = db;
    this.maxQueuedPerApp = maxQueuedPerApp;
  }

  // ---------------------------------------------------------------------------------------------
  // Transactions that may collide

  private <T> CompletionStage<T> retrying(Db.Work<T> work) {
    return attempt(work, 1);
  }

  private <T> CompletionStage<T> attempt(Db.Work<T> work, int n) {
    return db.inTransaction(work)
        .handle(
            (v, e) -> {
              if (e == null) {
                return CompletableFuture.completedFuture(v);
              }
              if (n < MAX_ATTEMPTS && collided(e)) {
                return attempt(work, n + 1);
              }
              return CompletableFuture.<T>failedFuture(e);
            })
        .thenCompose(x -> x);
  }

  /**
   * Whether {@code e} is a collision worth another run: a deadlock or serialization failure (40001,
   * 40P01), a lock wait given up (H2 HYT00, PostgreSQL 55P03), or a unique violation (23505:
   * another first writer inserted the same head).
   */
  static boolean collided(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof SQLException sql) {
        String s = sql.getSQLState();
        if ("40001".equals(s)
            || "40P01".equals(s)
            || "HYT00".equals(s)
            || "55P03".equals(s)
            || "23505".equals(s)) {
          return true;
        }
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  /** {@code all} in slices of at most {@link #IN_CHUNK}. */
  private static <T> List<List<T>> chunks(List<T> all) {
    List<List<T>> out = new ArrayList<>();
    for (int from = 0; from < all.size(); from += IN_CHUNK) {
      out.add(all.subList(from, Math.min(all.size(), from + IN_CHUNK)));
    }
    return out;
  }

  /** Locks the head rows of {@code queues} that exist, in locking order, and notes which do. */
  private static void lockHeads(Handle h, TreeMap<Head, QueueState> queues) {
    Map<Long, List<String>> byApp = new TreeMap<>();
    queues
        .keySet()
        .forEach(q -> byApp.computeIfAbsent(q.appId(), a -> new ArrayList<>()).add(q.userKey()));
    byApp.forEach(
        (app, keys) -> {
          for (List<String> chunk : chunks(keys)) {
            h.createQuery(
                    "SELECT user_key FROM notification_queues WHERE app_id = :a"
                        + " AND user_key IN (<u>) ORDER BY user_key FOR UPDATE")
                .bind("a", app)
                .bindList("u", chunk)
                .mapTo(String.class)
                .forEach(key -> queues.get(new Head(app, key)).exists = true);
          }
        });
  }

  /**
   * Locks the count rows of {@code apps}, in application order, and reads how many items each has
   * queued; an application without a row gets one at 0 (a concurrent first writer of the same
   * application makes that fail with 23505, and the batch runs again). Every writer takes these
   * after the heads it locks.
   */
  private static TreeMap<Long, Long> lockCounts(Handle h, Set<Long> apps) {
    TreeMap<Long, Long> queued = new TreeMap<>();
    for (List<Long> chunk : chunks(new ArrayList<>(new TreeSet<>(apps)))) {
      h.createQuery(
              "SELECT app_id, queued FROM notification_app_counts WHERE app_id IN (<a>)"
                  + " ORDER BY app_id FOR UPDATE")
          .bindList("a", chunk)
          .map((rs, ctx) -> Map.entry(rs.getLong("app_id"), rs.getLong("queued")))
          .forEach(e -> queued.put(e.getKey(), e.getValue()));
    }
    if (queued.size() < apps.size()) {
      PreparedBatch insert =
          h.prepareBatch("INSERT INTO notification_app_counts (app_id, queued) VALUES (:a, 0)");
      for (long app : new TreeSet<>(apps)) {
        if (!queued.containsKey(app)) {
          insert.bind("a", app).add();
          queued.put(app, 0L);
        }
      }
      insert.execute();
    }
    return queued;
  }

  /**
   * Gives back the room of the items that left their queues, {@code left} by application: the count
   * rows change in application order, the last thing before the transaction commits. A count never
   * goes under 0.
   */
  private static void release(Handle h, Map<Long, Long> left) {
    PreparedBatch update =
        h.prepareBatch(
            "UPDATE notification_app_counts SET queued ="
                + " CASE WHEN queued > :n THEN queued - :n ELSE 0 END WHERE app_id = :a");
    int n = 0;
    for (Map.Entry<Long, Long> e : new TreeMap<>(left).entrySet()) {
      if (e.getValue() > 0) {
        update.bind("n", e.getValue()).bind("a", e.getKey()).add();
        n++;
      }
    }
    if (n > 0) {
      update.execute();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Enqueue

  @Override
  public CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    String[] keys = new String[entries.size()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = UserKeys.of(entries.get(i).userSub());
    }
    return retrying(h -> enqueueIn(h, entries, keys));
  }

  private List<Enqueued> enqueueIn(Handle h, List<Entry> all, String[] allKeys) {
    TreeMap<Head, QueueState> queues = new TreeMap<>();
    Head[] allHeads = new Head[all.size()];
    Set<Long> apps = new HashSet<>();
    for (int i = 0; i < allHeads.length; i++) {
      allHeads[i] = new Head(all.get(i).notification().appId(), allKeys[i]);
      queues.computeIfAbsent(allHeads[i], k -> new QueueState());
      apps.add(allHeads[i].appId());
    }
    lockHeads(h, queues);
    // Room: each application's items in the call's order, as long as it has fewer than the limit
    // queued. An item that will push an older one out of a full queue needs room too (what it
    // pushes out gives its room back below, for the next batch). Nothing is written for the rest.
    TreeMap<Long, Long> queued = lockCounts(h, apps);
    TreeMap<Long, Long> taken = new TreeMap<>();
    boolean[] admitted = new boolean[all.size()];
    int admittedCount = 0;
    for (int i = 0; i < allHeads.length; i++) {
      long app = allHeads[i].appId();
      long t = taken.getOrDefault(app, 0L);
      if (queued.get(app) + t < maxQueuedPerApp) {
        admitted[i] = true;
        admittedCount++;
        taken.put(app, t + 1);
      }
    }
    if (admittedCount == 0) {
      return Collections.nCopies(all.size(), Enqueued.APP_FULL);
    }
    List<Entry> entries = new ArrayList<>(admittedCount);
    String[] keys = new String[admittedCount];
    Head[] heads = new Head[admittedCount];
    for (int i = 0, j = 0; i < allHeads.length; i++) {
      if (admitted[i]) {
        entries.add(all.get(i));
        keys[j] = allKeys[i];
        heads[j] = allHeads[i];
        j++;
      }
    }
    // Queues that get nothing are neither made nor touched (their heads stay locked until the end).
    queues.keySet().retainAll(new HashSet<>(Arrays.asList(heads)));
    List<Head> missing =
        queues.entrySet().stream()
            .filter(e -> !e.getValue().exists)
            .map(Map.Entry::getKey)
            .toList();
    // When each queue was last pushed to (the retention sweep drops queues idle for long).
    Map<Head, Instant> pushed = new HashMap<>();
    for (int i = 0; i < heads.length; i++) {
      pushed.merge(
          heads[i], entries.get(i).notification().createdAt(), JdbiNotificationQueues::max);
    }
    if (!missing.isEmpty()) {
      // A concurrent first writer of the same queue makes this fail (23505); the batch runs again.
      PreparedBatch insert =
          h.prepareBatch(
              "INSERT INTO notification_queues (user_key, app_id, next_seq, pushed_at)"
                  + " VALUES (:u, :a, 1, :at)");
      for (Head m : missing) {
        insert
            .bind("u", m.userKey())
            .bind("a", m.appId())
            .bind("at", Timestamps.bind(pushed.get(m)))
            .add();
      }
      insert.execute();
    }
    if (missing.size() < queues.size()) {
      PreparedBatch touch =
          h.prepareBatch(
              "UPDATE notification_queues SET pushed_at = :at"
                  + " WHERE user_key = :u AND app_id = :a AND pushed_at < :at");
      queues.forEach(
          (q, st) -> {
            if (st.exists) {
              touch
                  .bind("u", q.userKey())
                  .bind("a", q.appId())
                  .bind("at", Timestamps.bind(pushed.get(q)))
                  .add();
            }
          });
      touch.execute();
    }
    countQueues(h, queues);

    long[] seqs = new long[entries.size()];
    int[] sizes = new int[entries.size()];
    PreparedBatch items =
        h.prepareBatch(
            "INSERT INTO notifications (user_key, seq, "
                + COLUMNS
                + ") VALUES (:u, :seq, :id,"
                + " :a, :puid, :source, :message, :action, :created, :expires, :receipts)");
    for (int i = 0; i < entries.size(); i++) {
      QueueState s = queues.get(heads[i]);
      if (s.added == 0) {
        s.firstNewSeq = s.nextSeq;
      }
      seqs[i] = s.nextSeq++;
      s.added++;
      sizes[i] = Math.min(CAPACITY, s.countBefore + s.added);
      Notification n = entries.get(i).notification();
      items
          .bind("u", keys[i])
          .bind("seq", seqs[i])
          .bind("id", n.id())
          .bind("a", n.appId())
          .bind("puid", n.puid())
          .bind("source", n.source())
          .bind("message", n.message())
          .bind("action", n.action())
          .bind("created", Timestamps.bind(n.createdAt()))
          .bind("expires", Timestamps.bind(n.expiresAt()))
          .bind("receipts", n.receipts())
          .add();
    }
    items.execute();

    List<List<Notification>> dropped = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      dropped.add(List.of());
    }
    Map<Long, Long> pushedOut = new HashMap<>();
    for (Map.Entry<Head, QueueState> q : queues.entrySet()) {
      QueueState s = q.getValue();
      if (s.countBefore + s.added > CAPACITY) {
        int gone = trim(h, q.getKey(), s, entries, heads, seqs, dropped);
        pushedOut.merge(q.getKey().appId(), (long) gone, Long::sum);
      }
    }
    // The applications' counts: what they had, the items stored, less those pushed out.
    PreparedBatch count =
        h.prepareBatch("UPDATE notification_app_counts SET queued = :q WHERE app_id = :a");
    taken.forEach(
        (app, t) ->
            count
                .bind("q", queued.get(app) + t - pushedOut.getOrDefault(app, 0L))
                .bind("a", app)
                .add());
    count.execute();

    List<Enqueued> out = new ArrayList<>(all.size());
    for (int i = 0, j = 0; i < all.size(); i++) {
      out.add(admitted[i] ? new Enqueued(sizes[j], dropped.get(j++)) : Enqueued.APP_FULL);
    }
    return out;
  }

  /**
   * Reads how many items each of {@code queues} holds before this batch, and the sequence number
   * after its newest. Numbers only order a queue's items; an emptied queue may start again at 1.
   */
  private static void countQueues(Handle h, TreeMap<Head, QueueState> queues) {
    Map<Long, List<String>> byApp = new TreeMap<>();
    queues.forEach(
        (q, s) -> {
          if (s.exists) {
            byApp.computeIfAbsent(q.appId(), a -> new ArrayList<>()).add(q.userKey());
          }
        });
    byApp.forEach(
        (app, keys) -> {
          for (List<String> chunk : chunks(keys)) {
            h.createQuery(
                    "SELECT user_key, COUNT(*) AS n, MAX(seq) AS last FROM notifications"
                        + " WHERE app_id = :a AND user_key IN (<u>) GROUP BY user_key")
                .bind("a", app)
                .bindList("u", chunk)
                .map(
                    (rs, ctx) ->
                        Map.entry(
                            rs.getString("user_key"),
                            new long[] {rs.getInt("n"), rs.getLong("last")}))
                .forEach(
                    e -> {
                      QueueState s = queues.get(new Head(app, e.getKey()));
                      s.countBefore = (int) e.getValue()[0];
                      s.nextSeq = e.getValue()[1] + 1;
                    });
          }
        });
  }

  /**
   * Drops the oldest items of a queue that this batch filled past {@link #CAPACITY}, telling each
   * entry which items its arrival pushed out (drop-oldest, one item at a time, as if the entries
   * had come one by one). Returns how many items it deleted.
   */
  private static int trim(
      Handle h,
      Head head,
      QueueState s,
      List<Entry> entries,
      Head[] heads,
      long[] seqs,
      List<List<Notification>> dropped) {
    Deque<Notification> content = new ArrayDeque<>();
    Map<String, Long> seqOf = new HashMap<>();
    h.createQuery(
            "SELECT seq, "
                + COLUMNS
                + " FROM notifications WHERE user_key = :u AND app_id = :a"
                + " AND seq < :first ORDER BY seq")
        .bind("u", head.userKey())
        .bind("a", head.appId())
        .bind("first", s.firstNewSeq)
        .map((rs, ctx) -> Map.entry(rs.getLong("seq"), map(rs, ctx)))
        .forEach(
            e -> {
              content.addLast(e.getValue());
              seqOf.put(e.getValue().id(), e.getKey());
            });
    long lastDropped = -1;
    for (int i = 0; i < entries.size(); i++) {
      if (!heads[i].equals(head)) {
        continue;
      }
      Notification n = entries.get(i).notification();
      content.addLast(n);
      seqOf.put(n.id(), seqs[i]);
      if (content.size() > CAPACITY) {
        Notification gone = content.pollFirst();
        dropped.set(i, List.of(gone));
        lastDropped = Math.max(lastDropped, seqOf.get(gone.id()));
      }
    }
    if (lastDropped < 0) {
      return 0;
    }
    return h.createUpdate(
            "DELETE FROM notifications WHERE user_key = :u AND app_id = :a AND seq <= :cut")
        .bind("u", head.userKey())
        .bind("a", head.appId())
        .bind("cut", lastDropped)
        .execute();
  }

  // ---------------------------------------------------------------------------------------------
  // Reading and removing

  @Override
  public CompletionStage<List<Notification>> pending(String userSub) {
    return db.call(
        h ->
            h.createQuery(
                    "SELECT "
                        + COLUMNS
                        + " FROM notifications WHERE user_key = :u"
                        + " ORDER BY app_id, seq")
                .bind("u", UserKeys.of(userSub))
                .map(JdbiNotificationQueues::map)
                .list());
  }

  @Override
  public CompletionStage<Set<String>> withItems(Collection<String> userSubs) {
    if (userSubs.isEmpty()) {
      return CompletableFuture.completedFuture(Set.of());
    }
    Map<String, String> userOf = new HashMap<>();
    for (String user : userSubs) {
      userOf.put(UserKeys.of(user), user);
    }
    return db.call(
        h -> {
          Set<String> out = new HashSet<>();
          for (List<String> keys : chunks(new ArrayList<>(userOf.keySet()))) {
            h.createQuery("SELECT DISTINCT user_key FROM notifications WHERE user_key IN (<keys>)")
                .bindList("keys", keys)
                .mapTo(String.class)
                .forEach(key -> out.add(userOf.get(key)));
          }
          return out;
        });
  }

  @Override
  public CompletionStage<Map<String, List<Notification>>> removeAll(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    // What each queue asks for, by head; the user behind each user key.
    TreeMap<Head, QueueState> queues = new TreeMap<>();
    Map<Head, Set<String>> asked = new HashMap<>();
    Map<String, String> userOf = new HashMap<>();
    List<String> ids = new ArrayList<>();
    idsByUser.forEach(
        (user, byApp) -> {
          String key = UserKeys.of(user);
          userOf.put(key, user);
          byApp.forEach(
              (app, wanted) -> {
                if (wanted.isEmpty()) {
                  return;
                }
                Head head = new Head(app, key);
                queues.computeIfAbsent(head, k -> new QueueState());
                asked.computeIfAbsent(head, k -> new HashSet<>()).addAll(wanted);
                ids.addAll(wanted);
              });
        });
    if (queues.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    List<String> distinct = List.copyOf(new HashSet<>(ids));
    return retrying(
        h -> {
          lockHeads(h, queues);
          Map<String, List<Notification>> out = new HashMap<>();
          List<String> found = new ArrayList<>();
          for (List<String> chunk : chunks(distinct)) {
            h.createQuery(
                    "SELECT user_key, seq, "
                        + COLUMNS
                        + " FROM notifications WHERE id IN (<ids>)"
                        + " ORDER BY seq")
                .bindList("ids", chunk)
                .map((rs, ctx) -> Map.entry(rs.getString("user_key"), map(rs, ctx)))
                .forEach(
                    e -> {
                      Notification n = e.getValue();
                      Set<String> want = asked.get(new Head(n.appId(), e.getKey()));
                      if (want != null && want.contains(n.id())) {
                        found.add(n.id());
                        out.computeIfAbsent(userOf.get(e.getKey()), u -> new ArrayList<>()).add(n);
                      }
                    });
          }
          for (List<String> chunk : chunks(found)) {
            h.createUpdate("DELETE FROM notifications WHERE id IN (<ids>)")
                .bindList("ids", chunk)
                .execute();
          }
          Map<Long, Long> left = new HashMap<>();
          out.values().forEach(l -> l.forEach(n -> left.merge(n.appId(), 1L, Long::sum)));
          release(h, left);
          return out;
        });
  }

  @Override
  public CompletionStage<Integer> size(String userSub, long appId) {
    return db.call(
        h ->
            h.createQuery("SELECT COUNT(*) FROM notifications WHERE user_key = :u AND app_id = :a")
                .bind("u", UserKeys.of(userSub))
                .bind("a", appId)
                .mapTo(Integer.class)
                .one());
  }

  @Override
  public CompletionStage<List<Notification>> clear(String userSub, long appId) {
    String userKey = UserKeys.of(userSub);
    TreeMap<Head, QueueState> queue = new TreeMap<>();
    queue.put(new Head(appId, userKey), new QueueState());
    return retrying(
        h -> {
          lockHeads(h, queue);
          List<Notification> all =
              h.createQuery(
                      "SELECT "
                          + COLUMNS
                          + " FROM notifications WHERE user_key = :u"
                          + " AND app_id = :a ORDER BY seq")
                  .bind("u", userKey)
                  .bind("a", appId)
                  .map(JdbiNotificationQueues::map)
                  .list();
          int gone =
              h.createUpdate("DELETE FROM notifications WHERE user_key = :u AND app_id = :a")
                  .bind("u", userKey)
                  .bind("a", appId)
                  .execute();
          release(h, Map.of(appId, (long) gone));
          return all;
        });
  }

  @Override
  public CompletionStage<Integer> expireIdle(Instant before, int limit) {
    return retrying(
        h -> {
          TreeMap<Head, QueueState> idle = new TreeMap<>();
          h.createQuery(IDLE_QUEUES)
              .bind("before", Timestamps.bind(before))
              .bind("n", limit)
              .map((rs, ctx) -> new Head(rs.getLong("app_id"), rs.getString("user_key")))
              .forEach(q -> idle.put(q, new QueueState()));
          if (idle.isEmpty()) {
            return 0;
          }
          // As every writer: heads locked in order; then only those still idle go (an enqueue
          // that locked a head first has moved its pushed_at on).
          lockHeads(h, idle);
          int dropped = 0;
          Map<Long, Long> left = new HashMap<>();
          Map<Long, List<String>> byApp = new TreeMap<>();
          idle.keySet()
              .forEach(
                  q -> byApp.computeIfAbsent(q.appId(), a -> new ArrayList<>()).add(q.userKey()));
          for (Map.Entry<Long, List<String>> app : byApp.entrySet()) {
            for (List<String> chunk : chunks(app.getValue())) {
              List<String> still =
                  h.createQuery(
                          "SELECT user_key FROM notification_queues WHERE app_id = :a"
                              + " AND user_key IN (<u>) AND pushed_at < :before")
                      .bind("a", app.getKey())
                      .bindList("u", chunk)
                      .bind("before", Timestamps.bind(before))
                      .mapTo(String.class)
                      .list();
              if (still.isEmpty()) {
                continue;
              }
              int gone =
                  h.createUpdate(
                          "DELETE FROM notifications WHERE app_id = :a AND user_key IN (<u>)")
                      .bind("a", app.getKey())
                      .bindList("u", still)
                      .execute();
              left.merge(app.getKey(), (long) gone, Long::sum);
              dropped +=
                  h.createUpdate(
                          "DELETE FROM notification_queues WHERE app_id = :a"
                              + " AND user_key IN (<u>)")
                      .bind("a", app.getKey())
                      .bindList("u", still)
                      .execute();
            }
          }
          release(h, left);
          return dropped;
        });
  }

  private static Instant max(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }

  // ---------------------------------------------------------------------------------------------
  // Answers

  @Override
  public CompletionStage<Boolean> claimAnswer(String id, Instant expiresAt) {
    return db.call(
        h -> {
          try {
            h.createUpdate("INSERT INTO notification_answers (id, expires_at) VALUES (:id, :e)")
                .bind("id", id)
                .bind("e", Timestamps.bind(expiresAt))
                .execute();
            return true;
          } catch (RuntimeException e) {
            if (Db.isUniqueViolation(e)) {
              return false;
            }
            throw e;
          }
        });
  }

  /** At most this many answer claims go in one statement of {@link #purgeAnswers}. */
  static final int PURGE_BATCH = 1000;

  /** At most this many statements per {@link #purgeAnswers} call (the rest waits for the next). */
  static final int PURGE_MAX_BATCHES = 100;

  /** One batch of {@link #purgeAnswers}, on the {@code notification_answers_expiry} index. */
  static final String PURGE_ANSWERS =
      "DELETE FROM notification_answers WHERE expires_at < :now AND id IN (SELECT id FROM"
          + " notification_answers WHERE expires_at < :now ORDER BY expires_at LIMIT :n)";

  /**
   * Forgets the expired answer claims in statements of at most {@link #PURGE_BATCH} rows, each its
   * own database call (a backlog after a long stop, every node purging on its own timer, never
   * holds a connection or the table's rows for one long delete), until a statement finds fewer or
   * {@link #PURGE_MAX_BATCHES} ran.
   */
  @Override
  public CompletionStage<Integer> purgeAnswers(Instant now) {
    return purgeAnswers(now, 0, 0);
  }

  private CompletionStage<Integer> purgeAnswers(Instant now, int batches, int total) {
    return db.call(
            h ->
                h.createUpdate(PURGE_ANSWERS)
                    .bind("now", Timestamps.bind(now))
                    .bind("n", PURGE_BATCH)
                    .execute())
        .thenCompose(
            n ->
                n < PURGE_BATCH || batches + 1 >= PURGE_MAX_BATCHES
                    ? CompletableFuture.completedFuture(total + n)
                    : purgeAnswers(now, batches + 1, total + n));
  }

  private static Notification map(ResultSet rs, StatementContext ctx) throws SQLException {
    return new Notification(
        rs.getString("id"),
        rs.getLong("app_id"),
        rs.getString("puid"),
        rs.getString("source"),
        rs.getString("message"),
        rs.getString("action"),
        Timestamps.read(rs, "created_at"),
        Timestamps.read(rs, "expires_at"),
        rs.getBoolean("receipts"));
  }
}
