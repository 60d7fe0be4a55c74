-- Live-notification FIFOs for the embedded default (and a single node on PostgreSQL); a cluster
-- keeps them in Redis. One head row per (user, app) queue serialises its writers and numbers its
-- items; user_key is the SHA-256 of the user's identity (UserKeys).

CREATE TABLE notification_queues (
    user_key VARCHAR(64) NOT NULL,
    app_id   BIGINT      NOT NULL,
    next_seq BIGINT      NOT NULL,
    PRIMARY KEY (user_key, app_id)
);

CREATE TABLE notifications (
    user_key   VARCHAR(64)  NOT NULL,
    app_id     BIGINT       NOT NULL,
    seq        BIGINT       NOT NULL,
    id         VARCHAR(64)  NOT NULL,
    source     VARCHAR(100) NOT NULL,
    message    VARCHAR(512) NOT NULL,
    action     VARCHAR(512) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    receipts   BOOLEAN      NOT NULL,
    PRIMARY KEY (user_key, app_id, seq),
    CONSTRAINT notifications_id UNIQUE (id)
);
