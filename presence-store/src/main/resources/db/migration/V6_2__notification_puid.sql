-- The PUID a live notification was sent to, echoed in the application's receipts (issue 6).
ALTER TABLE notifications ADD COLUMN puid VARCHAR(64) DEFAULT '' NOT NULL;
