-- Device pairing (issue 15): Presence signs the identity tokens of paired devices itself, with
-- keys every node of a cluster shares (signing_keys: the private JWK, the newest signs), pairs a
-- device through the OAuth 2.0 Device Authorization Grant (device_authorizations, one row per
-- pending request, keyed by the SHA-256 of its device code) and keeps each paired device with the
-- SHA-256 of its refresh token (paired_devices). Portable between PostgreSQL and H2.
CREATE TABLE signing_keys (
    kid        VARCHAR(64)              PRIMARY KEY,
    jwk        VARCHAR(4000)            NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE device_authorizations (
    code_hash        VARCHAR(64)              PRIMARY KEY,
    user_code        VARCHAR(16)              NOT NULL,
    client_id        VARCHAR(100)             NOT NULL,
    expires_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    interval_seconds INT                      NOT NULL,
    last_poll_at     TIMESTAMP WITH TIME ZONE,
    state            VARCHAR(16)              NOT NULL,
    user_sub         VARCHAR(255),
    user_email       VARCHAR(255),
    device_name      VARCHAR(100),
    CONSTRAINT device_authorizations_user_code UNIQUE (user_code)
);

CREATE TABLE paired_devices (
    id           VARCHAR(64)              PRIMARY KEY,
    user_sub     VARCHAR(255)             NOT NULL,
    user_email   VARCHAR(255)             NOT NULL,
    name         VARCHAR(100)             NOT NULL,
    refresh_hash VARCHAR(64)              NOT NULL,
    paired_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    revoked_at   TIMESTAMP WITH TIME ZONE,
    CONSTRAINT paired_devices_refresh UNIQUE (refresh_hash)
);

CREATE INDEX paired_devices_user ON paired_devices (user_sub);
