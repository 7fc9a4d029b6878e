-- The id of the live reservation of an input group (see the MySQL migration).
ALTER TABLE input_groups ADD COLUMN reservation_id TEXT NULL;
