ALTER TABLE input_groups DROP COLUMN steps;
