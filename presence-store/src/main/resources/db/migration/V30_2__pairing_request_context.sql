-- What the /pair page shows a signed-in user about a pending pairing request before they approve
-- it (RFC 8628 section 5.4, remote phishing): when it was made and from which address. Kept only
-- as long as the request (a row is deleted once expired). Portable between PostgreSQL and H2.
ALTER TABLE device_authorizations ADD COLUMN requested_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE device_authorizations ADD COLUMN requested_from VARCHAR(64);
