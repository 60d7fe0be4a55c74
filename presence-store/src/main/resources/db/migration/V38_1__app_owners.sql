-- One row per developer who registered an application: a registration locks its developer's row
-- (SELECT ... FOR UPDATE) in the transaction that counts the developer's applications and inserts
-- the new one, so concurrent registrations on any node never pass apps.max-per-developer together,
-- and a register key sent twice at once makes one application. Rows are made by the first
-- registration (a concurrent first insert fails on the key and the registration locks the row the
-- other made). Filled here from the applications already registered. Portable between PostgreSQL
-- and H2.
CREATE TABLE app_owners (
    owner_sub VARCHAR(255) PRIMARY KEY
);

INSERT INTO app_owners (owner_sub) SELECT DISTINCT owner_sub FROM apps;
