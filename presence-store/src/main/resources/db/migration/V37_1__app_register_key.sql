-- The Register form's id (form_id) the application was made with, so that the same form sent again
-- makes nothing new whichever node it reaches (docs/apps-api.md): unique per developer. Null for
-- applications made without one (the API, rows older than this column); NULLs never collide, in
-- PostgreSQL and in H2. Portable between both.
ALTER TABLE apps ADD COLUMN register_key VARCHAR(64);
CREATE UNIQUE INDEX apps_register_key ON apps (owner_sub, register_key);
