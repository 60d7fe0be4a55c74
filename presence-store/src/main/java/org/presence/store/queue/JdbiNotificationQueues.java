package org.presence.store.queue;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.presence.store.db.Db;
import org.presence.store.db.Timestamps;

/**
 * {@link NotificationQueues} in the database: the embedded H2 file (whose commits reach the disk
 * before they return) or PostgreSQL. A batch is one transaction; each (user, app) queue's head row
 * is locked, in a fixed order, before its items are written, so concurrent writers of one queue
 * cannot both trim it and two batches cannot deadlock.
 */
public final class JdbiNotificationQueues implements NotificationQueues {
  private static final String COLUMNS =
      "id, app_id, puid, source, message, action, created_at, expires_at, receipts";

  private record Head(String userKey, long appId) implements Comparable<Head> {
    @Override
    public int compareTo(Head o) {
      int c = userKey.compareTo(o.userKey);
      return c != 0 ? c : Long.compare(appId, o.appId);
    }
  }

  private final Db db;

  public JdbiNotificationQueues(Db db) {
    this.db = db;
  }

  @Override
  public CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries) {
    TreeSet<Head> heads = new TreeSet<>();
    for (Entry e : entries) {
      heads.add(new Head(UserKeys.of(e.userSub()), e.notification().appId()));
    }
    return db.call(
            h -> {
              // Head rows are made outside the batch's transaction: on PostgreSQL a unique
              // violation (a concurrent first writer) would abort the whole transaction.
              for (Head head : heads) {
                ensureHead(h, head);
              }
              return null;
            })
        .thenCompose(
            x ->
                db.inTransaction(
                    h -> {
                      lockHeads(h, heads);
                      List<Enqueued> out = new ArrayList<>(entries.size());
                      for (Entry e : entries) {
                        out.add(append(h, UserKeys.of(e.userSub()), e.notification()));
                      }
                      return out;
                    }));
  }

  private static void ensureHead(Handle h, Head head) {
    boolean exists =
        h.createQuery(
                "SELECT COUNT(*) FROM notification_queues WHERE user_key = :u AND app_id = :a")
            .bind("u", head.userKey())
            .bind("a", head.appId())
            .mapTo(Long.class)
            .one()
            > 0;
    if (exists) {
      return;
    }
    try {
      h.createUpdate(
              "INSERT INTO notification_queues (user_key, app_id, next_seq) VALUES (:u, :a, 1)")
          .bind("u", head.userKey())
          .bind("a", head.appId())
          .execute();
    } catch (RuntimeException e) {
      if (!Db.isUniqueViolation(e)) {
        throw e;
      }
    }
  }

  private static Enqueued append(Handle h, String userKey, Notification n) {
    long seq =
        h.createQuery(
                "SELECT next_seq FROM notification_queues WHERE user_key = :u AND app_id = :a")
            .bind("u", userKey)
            .bind("a", n.appId())
            .mapTo(Long.class)
            .one();
    h.createUpdate(
            "UPDATE notification_queues SET next_seq = :n WHERE user_key = :u AND app_id = :a")
        .bind("n", seq + 1)
        .bind("u", userKey)
        .bind("a", n.appId())
        .execute();
    h.createUpdate(
            "INSERT INTO notifications (user_key, seq, " + COLUMNS + ") VALUES (:u, :seq, :id,"
                + " :a, :puid, :source, :message, :action, :created, :expires, :receipts)")
        .bind("u", userKey)
        .bind("a", n.appId())
        .bind("seq", seq)
        .bind("id", n.id())
        .bind("puid", n.puid())
        .bind("source", n.source())
        .bind("message", n.message())
        .bind("action", n.action())
        .bind("created", Timestamps.bind(n.createdAt()))
        .bind("expires", Timestamps.bind(n.expiresAt()))
        .bind("receipts", n.receipts())
        .execute();
    List<Notification> dropped =
        h.createQuery(
                "SELECT " + COLUMNS + " FROM notifications WHERE user_key = :u AND app_id = :a"
                    + " AND seq <= :cut ORDER BY seq")
            .bind("u", userKey)
            .bind("a", n.appId())
            .bind("cut", seq - CAPACITY)
            .map(JdbiNotificationQueues::map)
            .list();
    if (!dropped.isEmpty()) {
      h.createUpdate(
              "DELETE FROM notifications WHERE user_key = :u AND app_id = :a AND seq <= :cut")
          .bind("u", userKey)
          .bind("a", n.appId())
          .bind("cut", seq - CAPACITY)
          .execute();
    }
    int size = count(h, userKey, n.appId());
    return new Enqueued(size, dropped);
  }

  private static int count(Handle h, String userKey, long appId) {
    return h.createQuery(
            "SELECT COUNT(*) FROM notifications WHERE user_key = :u AND app_id = :a")
        .bind("u", userKey)
        .bind("a", appId)
        .mapTo(Integer.class)
        .one();
  }

  @Override
  public CompletionStage<List<Notification>> pending(String userSub) {
    return db.call(
        h ->
            h.createQuery(
                    "SELECT " + COLUMNS + " FROM notifications WHERE user_key = :u"
                        + " ORDER BY app_id, seq")
                .bind("u", UserKeys.of(userSub))
                .map(JdbiNotificationQueues::map)
                .list());
  }

  @Override
  public CompletionStage<List<Notification>> remove(
      String userSub, Map<Long, ? extends Collection<String>> idsByApp) {
    String userKey = UserKeys.of(userSub);
    return db.inTransaction(
        h -> {
          lockHeads(h, heads(Map.of(userSub, idsByApp)));
          return removeIn(h, userKey, idsByApp);
        });
  }

  /** The heads of the queues named in {@code idsByUser}, in locking order. */
  private static TreeSet<Head> heads(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    TreeSet<Head> heads = new TreeSet<>();
    idsByUser.forEach(
        (user, byApp) -> {
          String key = UserKeys.of(user);
          byApp.forEach(
              (app, ids) -> {
                if (!ids.isEmpty()) {
                  heads.add(new Head(key, app));
                }
              });
        });
    return heads;
  }

  /**
   * Locks the head rows of {@code heads}, in their order: every writer of a queue (enqueue,
   * remove, clear) takes its head first and all take them in one order, so writers of the same
   * queues wait for each other instead of deadlocking on its item rows.
   */
  private static void lockHeads(Handle h, TreeSet<Head> heads) {
    for (Head head : heads) {
      h.createQuery(
              "SELECT next_seq FROM notification_queues"
                  + " WHERE user_key = :u AND app_id = :a FOR UPDATE")
          .bind("u", head.userKey())
          .bind("a", head.appId())
          .mapTo(Long.class)
          .findOne();
    }
  }

  @Override
  public CompletionStage<Map<String, List<Notification>>> removeAll(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    if (idsByUser.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    return db.inTransaction(
        h -> {
          lockHeads(h, heads(idsByUser));
          Map<String, List<Notification>> out = new HashMap<>();
          for (Map.Entry<String, ? extends Map<Long, ? extends Collection<String>>> e :
              idsByUser.entrySet()) {
            List<Notification> removed = removeIn(h, UserKeys.of(e.getKey()), e.getValue());
            if (!removed.isEmpty()) {
              out.put(e.getKey(), removed);
            }
          }
          return out;
        });
  }

  private static List<Notification> removeIn(
      Handle h, String userKey, Map<Long, ? extends Collection<String>> idsByApp) {
    List<Notification> removed = new ArrayList<>();
    for (Map.Entry<Long, ? extends Collection<String>> e : idsByApp.entrySet()) {
      if (e.getValue().isEmpty()) {
        continue;
      }
      List<Notification> found =
          h.createQuery(
                  "SELECT " + COLUMNS + " FROM notifications WHERE user_key = :u"
                      + " AND app_id = :a AND id IN (<ids>) ORDER BY seq")
              .bind("u", userKey)
              .bind("a", e.getKey())
              .bindList("ids", List.copyOf(e.getValue()))
              .map(JdbiNotificationQueues::map)
              .list();
      if (!found.isEmpty()) {
        h.createUpdate(
                "DELETE FROM notifications WHERE user_key = :u AND app_id = :a"
                    + " AND id IN (<ids>)")
            .bind("u", userKey)
            .bind("a", e.getKey())
            .bindList("ids", found.stream().map(Notification::id).toList())
            .execute();
        removed.addAll(found);
      }
    }
    removed.sort(Comparator.comparingLong(Notification::appId));
    return removed;
  }

  @Override
  public CompletionStage<Boolean> claimAnswer(String id, java.time.Instant expiresAt) {
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

  @Override
  public CompletionStage<Integer> purgeAnswers(java.time.Instant now) {
    return db.call(
        h ->
            h.createUpdate("DELETE FROM notification_answers WHERE expires_at < :now")
                .bind("now", Timestamps.bind(now))
                .execute());
  }

  @Override
  public CompletionStage<Integer> size(String userSub, long appId) {
    return db.call(h -> count(h, UserKeys.of(userSub), appId));
  }

  @Override
  public CompletionStage<List<Notification>> clear(String userSub, long appId) {
    String userKey = UserKeys.of(userSub);
    return db.inTransaction(
        h -> {
          TreeSet<Head> head = new TreeSet<>();
          head.add(new Head(userKey, appId));
          lockHeads(h, head);
          List<Notification> all =
              h.createQuery(
                      "SELECT " + COLUMNS + " FROM notifications WHERE user_key = :u"
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
