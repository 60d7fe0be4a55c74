-- Page sessions (issue 15), shared by every node: the browser's cookie holds a random id; only its
-- SHA-256 (hex) is stored, so a copy of this table opens no session. Signing out deletes the row.
-- Portable between PostgreSQL and H2 (PostgreSQL mode).

CREATE TABLE web_sessions (
    id_hash       VARCHAR(64)   PRIMARY KEY,
    user_sub      VARCHAR(255)  NOT NULL,
    email         VARCHAR(320)  NOT NULL,
    user_agent    VARCHAR(200)  NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at    TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_sub);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- OpenID Connect sign-ins started and not yet finished: one row per state (stored hashed), bound to
-- the browser that started it (the hash of its anti-forgery nonce), deleted when used or expired.
CREATE TABLE oidc_logins (
    state_hash     VARCHAR(64)   PRIMARY KEY,
    browser_hash   VARCHAR(64)   NOT NULL,
    nonce          VARCHAR(128)  NOT NULL,
    code_verifier  VARCHAR(128)  NOT NULL,
    next_path      VARCHAR(4096) NOT NULL,
    expires_at     TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
