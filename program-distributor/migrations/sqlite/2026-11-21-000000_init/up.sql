-- Times are milliseconds since the Unix epoch (UTC); ids are hyphenated UUIDs.
CREATE TABLE accounts (
    id TEXT NOT NULL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_name ON accounts (name);

CREATE TABLE refresh_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);

CREATE TABLE programs (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    lock_timeout_secs BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE INDEX programs_name ON programs (name);
CREATE INDEX programs_created ON programs (created_at);

-- State of an input group: see the MySQL migration.
CREATE TABLE input_groups (
    id TEXT NOT NULL PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_reserved BIGINT NULL,
    lock_expires BIGINT NOT NULL DEFAULT 0,
    proven BOOLEAN NOT NULL DEFAULT FALSE,
    proven_at BIGINT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    proof_id TEXT NULL
);
CREATE INDEX input_groups_reservable ON input_groups (program_id, proven, lock_expires);
CREATE INDEX input_groups_listing ON input_groups (program_id, created_at);
