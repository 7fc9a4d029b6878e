-- The number of Cairo steps the accepted proof proves (set with proven, cleared on reject).
ALTER TABLE input_groups ADD COLUMN steps BIGINT NULL;
