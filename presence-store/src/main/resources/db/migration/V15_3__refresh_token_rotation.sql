-- Refresh token rotation with reuse detection and client binding (RFC 9700 section
-- 4.14, RFC 6749 section 6). A paired device keeps the client_id it was paired with (NULL for
-- devices paired before this migration: their first refresh binds them to the client_id it sends),
-- its current refresh token (refresh_hash) and the one before (previous_refresh_hash), which stays
-- accepted only until the current one is first used (a refresh answer lost on the way). Every
-- refresh token rotated out is kept in paired_device_rotated_tokens (its SHA-256; the node keeps
-- a device's newest 16 of at most 30 days, and none once it is revoked), so that presenting one
-- again is recognised as reuse and revokes the device. Portable
-- between PostgreSQL and H2.
ALTER TABLE paired_devices ADD COLUMN client_id VARCHAR(100);

ALTER TABLE paired_devices ADD COLUMN previous_refresh_hash VARCHAR(64);

ALTER TABLE paired_devices
    ADD CONSTRAINT paired_devices_previous_refresh UNIQUE (previous_refresh_hash);

CREATE TABLE paired_device_rotated_tokens (
    refresh_hash VARCHAR(64)              PRIMARY KEY,
    device_id    VARCHAR(64)              NOT NULL,
    rotated_at   TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX paired_device_rotated_tokens_device
    ON paired_device_rotated_tokens (device_id, rotated_at);
