-- Retention of what users and devices that never come back leave behind (docs/operations.md,
-- data retention). A sweep deletes, in batches, revoked PUIDs' tombstones older than
-- retention.revoked-puids, push presence ids neither tied nor reported for within
-- retention.client-mappings, and (without Redis) notification queues nothing was pushed to
-- within retention.notification-queues. Each sweep selects by one of these indexed columns, oldest
-- first. Portable between PostgreSQL and H2.
CREATE INDEX revoked_puids_revoked_at ON revoked_puids (revoked_at);

CREATE INDEX client_mappings_updated_at ON client_mappings (updated_at);

-- When an item was last pushed to the queue; a queue that existed before this migration counts
-- from the migration.
ALTER TABLE notification_queues
    ADD COLUMN pushed_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

CREATE INDEX notification_queues_pushed_at ON notification_queues (pushed_at);
