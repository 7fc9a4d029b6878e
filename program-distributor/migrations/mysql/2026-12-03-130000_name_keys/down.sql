ALTER TABLE programs ADD UNIQUE KEY programs_account_name (account_id, name);
ALTER TABLE programs DROP INDEX programs_account_name_key;
ALTER TABLE programs DROP COLUMN name_key;
ALTER TABLE accounts ADD UNIQUE KEY accounts_username (username);
ALTER TABLE accounts DROP INDEX accounts_username_key;
ALTER TABLE accounts DROP COLUMN username_key;
