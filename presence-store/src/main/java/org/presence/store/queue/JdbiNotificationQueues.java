package org.presence.store.queue;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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

  public JdbiNotificationQueues(Db db) {
    this.db = db;
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

  private static List<Enqueued> enqueueIn(Handle h, List<Entry> entries, String[] keys) {
    TreeMap<Head, QueueState> queues = new TreeMap<>();
    Head[] heads = new Head[entries.size()];
    for (int i = 0; i < heads.length; i++) {
      heads[i] = new Head(entries.get(i).notification().appId(), keys[i]);
      queues.computeIfAbsent(heads[i], k -> new QueueState());
    }
    lockHeads(h, queues);
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
    for (Map.Entry<Head, QueueState> q : queues.entrySet()) {
      QueueState s = q.getValue();
      if (s.countBefore + s.added > CAPACITY) {
        trim(h, q.getKey(), s, entries, heads, seqs, dropped);
      }
    }

    List<Enqueued> out = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      out.add(new Enqueued(sizes[i], dropped.get(i)));
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
   * had come one by one).
   */
  private static void trim(
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
    if (lastDropped >= 0) {
      h.createUpdate(
              "DELETE FROM notifications WHERE user_key = :u AND app_id = :a AND seq <= :cut")
          .bind("u", head.userKey())
          .bind("a", head.appId())
          .bind("cut", lastDropped)
          .execute();
    }
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
          h.createUpdate("DELETE FROM notifications WHERE user_key = :u AND app_id = :a")
              .bind("u", userKey)
              .bind("a", appId)
              .execute();
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
              h.createUpdate("DELETE FROM notifications WHERE app_id = :a AND user_key IN (<u>)")
                  .bind("a", app.getKey())
                  .bindList("u", still)
                  .execute();
              dropped +=
                  h.createUpdate(
                          "DELETE FROM notification_queues WHERE app_id = :a"
                              + " AND user_key IN (<u>)")
                      .bind("a", app.getKey())
                      .bindList("u", still)
                      .execute();
            }
          }
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
