-- Usernames and program names are unique under one key on both backends: the name in NFC, in
-- lower case, compared byte for byte (the server computes it). The unique indexes on the names
-- themselves went by the column's collation, which ignores case and accents here and not on
-- SQLite. Rows that predate the key get LOWER(...), which those indexes kept unique.
ALTER TABLE accounts ADD COLUMN username_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
UPDATE accounts SET username_key = LOWER(username);
ALTER TABLE accounts MODIFY username_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
ALTER TABLE accounts ADD UNIQUE KEY accounts_username_key (username_key);
ALTER TABLE accounts DROP INDEX accounts_username;

ALTER TABLE programs ADD COLUMN name_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
UPDATE programs SET name_key = LOWER(name);
ALTER TABLE programs MODIFY name_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
ALTER TABLE programs ADD UNIQUE KEY programs_account_name_key (account_id, name_key);
ALTER TABLE programs DROP INDEX programs_account_name;
