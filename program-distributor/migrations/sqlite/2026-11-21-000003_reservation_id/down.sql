ALTER TABLE input_groups DROP COLUMN reservation_id;
