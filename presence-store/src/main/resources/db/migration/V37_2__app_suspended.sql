-- An application the operator suspended (admin API): without a key, like one its developer
-- deactivated, but only the operator's resume gives it a key again; its developer's Activate is
-- refused (APP_SUSPENDED, 139). Portable between PostgreSQL and H2.
ALTER TABLE apps ADD COLUMN suspended BOOLEAN DEFAULT FALSE NOT NULL;
