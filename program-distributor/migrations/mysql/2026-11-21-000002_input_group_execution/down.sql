ALTER TABLE input_groups DROP COLUMN execution_id;
