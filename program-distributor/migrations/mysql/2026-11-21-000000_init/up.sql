-- Times are milliseconds since the Unix epoch (UTC); ids are hyphenated UUIDs.
CREATE TABLE accounts (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    username VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    name VARCHAR(128) NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY accounts_username (username),
    KEY accounts_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE refresh_tokens (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    account_id VARCHAR(36) NOT NULL,
    expires_at BIGINT NOT NULL,
    KEY refresh_tokens_account (account_id),
    CONSTRAINT refresh_tokens_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE programs (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    account_id VARCHAR(36) NOT NULL,
    name VARCHAR(128) NOT NULL,
    description TEXT NOT NULL,
    lock_timeout_secs BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY programs_account_name (account_id, name),
    KEY programs_name (name),
    KEY programs_created (created_at),
    CONSTRAINT programs_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- State of an input group: uploaded (proven = 0, lock_expires <= now), reserved (proven = 0,
-- lock_expires > now), proven (proven = 1, confirmed = 0, proof_id set), confirmed (proven = 1,
-- confirmed = 1, proof deleted).
CREATE TABLE input_groups (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    program_id VARCHAR(36) NOT NULL,
    name VARCHAR(128) NOT NULL,
    created_at BIGINT NOT NULL,
    last_reserved BIGINT NULL,
    lock_expires BIGINT NOT NULL DEFAULT 0,
    proven BOOLEAN NOT NULL DEFAULT FALSE,
    proven_at BIGINT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    proof_id VARCHAR(36) NULL,
    -- The reservation scan: unproven groups of a program whose lock has expired, oldest lock first.
    KEY input_groups_reservable (program_id, proven, lock_expires),
    KEY input_groups_listing (program_id, created_at),
    CONSTRAINT input_groups_program_fk FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
