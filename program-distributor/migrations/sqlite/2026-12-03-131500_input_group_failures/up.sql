-- Failed runs (see the MySQL migration).
ALTER TABLE programs ADD COLUMN max_failures INTEGER NOT NULL DEFAULT 3;
ALTER TABLE input_groups ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE input_groups ADD COLUMN failed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE input_groups ADD COLUMN failure_log TEXT NULL;
