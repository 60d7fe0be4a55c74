-- Snapshots of the app update channel read an application's enabled grants page by page in PUID
-- order (issue 5): this index serves "app_id = ? AND puid > ? ORDER BY puid".
CREATE INDEX grants_app_puid ON grants (app_id, puid);
