ALTER TABLE input_groups DROP COLUMN failure_log;
ALTER TABLE input_groups DROP COLUMN failed;
ALTER TABLE input_groups DROP COLUMN failures;
ALTER TABLE programs DROP COLUMN max_failures;
