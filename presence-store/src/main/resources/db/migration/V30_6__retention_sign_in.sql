-- Retention of what sign-ins and pairings leave behind (docs/operations.md, data retention). The
-- sweep deletes, in batches and oldest first by these indexed columns: pairing requests once
-- expired (they hold the requesting address, requested_from), revoked paired devices
-- retention.revoked-devices after their revocation (with their remembered refresh tokens), and
-- remembered refresh tokens past the 30 days they serve. Expired page sessions and OpenID Connect
-- sign-ins go too, by the expires_at indexes of V15_1. Portable between PostgreSQL and H2.
CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);

CREATE INDEX paired_devices_revoked_at ON paired_devices (revoked_at);

CREATE INDEX paired_device_rotated_tokens_rotated_at ON paired_device_rotated_tokens (rotated_at);
