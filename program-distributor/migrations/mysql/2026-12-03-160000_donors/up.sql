-- Donors (an Ed25519 public key and a display name), their teams, the nonces of their signed
-- requests, and their credit: one row per accepted proof or execution of a registered donor,
-- with its program and its day, so credit per donor, per program and per day (and over the last
-- 24 hours) is a sum of rows; each donor's all-time totals are kept on its row for the leaderboard.
-- Names are unique under their key (NFC, lower case, compared byte for byte), as usernames are.
CREATE TABLE teams (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(128) NOT NULL,
    name_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY teams_name_key (name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE donors (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    -- 64 lower-case hex digits.
    public_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name VARCHAR(128) NOT NULL,
    name_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    team_id VARCHAR(36) NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    total_steps BIGINT NOT NULL DEFAULT 0,
    total_jobs BIGINT NOT NULL DEFAULT 0,
    UNIQUE KEY donors_public_key (public_key),
    UNIQUE KEY donors_name_key (name_key),
    KEY donors_ranking (total_steps, id),
    KEY donors_team (team_id),
    CONSTRAINT donors_team_fk FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A nonce is kept until its request's timestamp is stale (`expires_at`); a request that reuses
-- one before then is a replay.
CREATE TABLE donor_nonces (
    public_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    nonce VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (public_key, nonce),
    KEY donor_nonces_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- `kind` is `proof` or `execution`; `object_id` is the stored proof's or execution's id, unique,
-- so one accepted file is credited once. `program_id` has no foreign key: credit outlives a
-- deleted program. `day` counts days since the Unix epoch (UTC).
CREATE TABLE credit_entries (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    donor_id VARCHAR(36) NOT NULL,
    program_id VARCHAR(36) NOT NULL,
    input_group_id VARCHAR(36) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    object_id VARCHAR(64) NOT NULL,
    day BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    steps BIGINT NOT NULL,
    jobs BIGINT NOT NULL,
    UNIQUE KEY credit_entries_object (kind, object_id),
    KEY credit_entries_donor (donor_id, created_at),
    KEY credit_entries_program (program_id, donor_id),
    KEY credit_entries_time (created_at),
    CONSTRAINT credit_entries_donor_fk FOREIGN KEY (donor_id) REFERENCES donors (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Whether the program's progress (`GET /program/progress/{id}`) is public.
ALTER TABLE programs ADD COLUMN public_progress BOOLEAN NOT NULL DEFAULT TRUE;
