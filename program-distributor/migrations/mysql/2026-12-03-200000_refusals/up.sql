-- Refused uploads: a donor's proof or execution that the server's own check turned down
-- (INVALID_PROOF, UNSUPPORTED_PROOF_VERSION, INVALID_EXECUTION), kept so that the organization
-- sees what went wrong with its program's jobs. The newest 100 of a program are kept (older
-- ones are deleted as new ones come), and they go with their input group.
CREATE TABLE refusals (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    program_id VARCHAR(36) NOT NULL,
    input_group_id VARCHAR(36) NOT NULL,
    -- `proof` or `execution`.
    kind VARCHAR(16) NOT NULL,
    -- The error code the upload was answered with.
    code VARCHAR(64) NOT NULL,
    message TEXT NOT NULL,
    -- The registered donor who signed the upload, if it was signed.
    donor_id VARCHAR(36) NULL,
    created_at BIGINT NOT NULL,
    KEY refusals_program (program_id, created_at, id),
    CONSTRAINT refusals_group_fk FOREIGN KEY (input_group_id) REFERENCES input_groups (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
