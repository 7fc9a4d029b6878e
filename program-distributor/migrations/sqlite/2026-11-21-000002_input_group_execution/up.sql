-- Execution-only mode: the id of the accepted execution file (see the MySQL migration).
ALTER TABLE input_groups ADD COLUMN execution_id TEXT NULL;
