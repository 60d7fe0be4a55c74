-- Who has stored settings (caches.settings, docs/configuration.md): each node reads every user
-- with settings once, then every caches.settings.ttl only the users whose settings were saved
-- since, a range of this index, instead of every name again. Portable between PostgreSQL and H2.
CREATE INDEX user_settings_updated_at ON user_settings (updated_at);
