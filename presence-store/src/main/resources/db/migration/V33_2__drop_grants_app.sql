-- grants_app (app_id) duplicated the leading column of grants_app_puid (app_id, puid, V5_1), which
-- serves every read by application (a page of its grants, and the foreign key's cascade when an
-- application is deleted): one index less to write on every grant, pause and revoke. H2 keeps
-- the index it made for the foreign key itself when the table was created (not this one).
-- Portable between PostgreSQL and H2.
DROP INDEX grants_app;
