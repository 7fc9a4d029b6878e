-- Donors, teams, nonces and credit (see the MySQL migration).
CREATE TABLE teams (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE donors (
    id TEXT NOT NULL PRIMARY KEY,
    public_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    team_id TEXT NULL REFERENCES teams (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    total_steps BIGINT NOT NULL DEFAULT 0,
    total_jobs BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX donors_ranking ON donors (total_steps, id);
CREATE INDEX donors_team ON donors (team_id);

CREATE TABLE donor_nonces (
    public_key TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (public_key, nonce)
);
CREATE INDEX donor_nonces_expiry ON donor_nonces (expires_at);

CREATE TABLE credit_entries (
    id TEXT NOT NULL PRIMARY KEY,
    donor_id TEXT NOT NULL REFERENCES donors (id) ON DELETE CASCADE,
    program_id TEXT NOT NULL,
    input_group_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    steps BIGINT NOT NULL,
    jobs BIGINT NOT NULL,
    UNIQUE (kind, object_id)
);
CREATE INDEX credit_entries_donor ON credit_entries (donor_id, created_at);
CREATE INDEX credit_entries_program ON credit_entries (program_id, donor_id);
CREATE INDEX credit_entries_time ON credit_entries (created_at);

ALTER TABLE programs ADD COLUMN public_progress BOOLEAN NOT NULL DEFAULT TRUE;
