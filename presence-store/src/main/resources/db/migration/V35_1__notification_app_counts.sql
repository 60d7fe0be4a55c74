-- How many live notifications each application has queued, over all its users, so that the
-- database store refuses items beyond notifications.max-queued-per-app (errno 174) as the journal
-- and Redis do (docs/notifications.md, what an application may have queued). Kept exact by
-- JdbiNotificationQueues in the transaction that inserts or deletes the items; a batch locks its
-- applications' rows, so concurrent batches of one application never pass the limit together and
-- no batch counts the notifications table. Counted here from what is already queued. Portable
-- between PostgreSQL and H2.
CREATE TABLE notification_app_counts (
    app_id BIGINT PRIMARY KEY,
    queued BIGINT NOT NULL
);

INSERT INTO notification_app_counts (app_id, queued)
    SELECT app_id, COUNT(*) FROM notifications GROUP BY app_id;
