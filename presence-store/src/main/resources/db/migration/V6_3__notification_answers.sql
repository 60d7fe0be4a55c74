-- The first answer (acted on, dismissed) to each live notification, so that a receipt goes out
-- once even when the user's devices answer on several nodes. Rows live until the notification's
-- ttl; purged then.
CREATE TABLE notification_answers (
    id         VARCHAR(64) PRIMARY KEY,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX notification_answers_expiry ON notification_answers (expires_at);
