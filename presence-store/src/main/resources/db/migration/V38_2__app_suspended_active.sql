-- Whether a suspended application was active when the operator suspended it: the admin resume
-- gives such an application a new key and makes it active again, and puts one that was only
-- verified (never activated, or deactivated by its developer) back as verified, without a key, its
-- developer's to activate. Applications suspended before this column was made resume as active,
-- as they did. Portable between PostgreSQL and H2.
ALTER TABLE apps ADD COLUMN suspended_active BOOLEAN DEFAULT TRUE NOT NULL;
