DROP INDEX programs_account_name_key;
ALTER TABLE programs DROP COLUMN name_key;
DROP INDEX accounts_username_key;
ALTER TABLE accounts DROP COLUMN username_key;
