-- The seeds' Client-Mappings table (seed 000): a push server's presence id ("xpi", seed 001) to
-- the user and device that tied it with an identity assertion. One id per device; re-tying a
-- device replaces its id. Portable between PostgreSQL and H2 (PostgreSQL mode).

CREATE TABLE client_mappings (
    client_id       VARCHAR(128)  PRIMARY KEY,
    user_sub        VARCHAR(255)  NOT NULL,
    device_id       VARCHAR(64)   NOT NULL,
    -- The device's application ids, comma-separated; NULL for every application the user granted.
    application_ids VARCHAR(2400),
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT client_mappings_user_device UNIQUE (user_sub, device_id)
);
