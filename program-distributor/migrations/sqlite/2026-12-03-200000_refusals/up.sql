-- Refused uploads (see the MySQL migration).
CREATE TABLE refusals (
    id TEXT NOT NULL PRIMARY KEY,
    program_id TEXT NOT NULL,
    input_group_id TEXT NOT NULL REFERENCES input_groups (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    donor_id TEXT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX refusals_program ON refusals (program_id, created_at, id);
