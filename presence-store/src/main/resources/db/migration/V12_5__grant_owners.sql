-- Caps on grants (issue 12 item 5): grants.max-per-app per (user, application) and
-- grants.max-per-user per user. One row per user who ever asked for a grant; a new grant locks
-- its user's row (SELECT ... FOR UPDATE) before it counts and inserts, so that concurrent grants of
-- one user, on any node, cannot pass a cap together. Portable between PostgreSQL and H2.
CREATE TABLE grant_owners (
    user_sub VARCHAR(255) PRIMARY KEY
);
