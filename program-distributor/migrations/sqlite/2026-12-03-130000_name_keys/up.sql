-- Usernames and program names are unique under one key (see the MySQL migration). The unique
-- constraints on the exact names stay: the key's is stricter. A row that predates the key gets its
-- name in lower case, unless another row's name differs from it only by case (which SQLite
-- allowed): those keep their exact names as keys, so that the migration cannot fail.
ALTER TABLE accounts ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
UPDATE accounts SET username_key = CASE
    WHEN (SELECT COUNT(*) FROM accounts AS other
          WHERE lower(other.username) = lower(accounts.username)) > 1 THEN username
    ELSE lower(username) END;
CREATE UNIQUE INDEX accounts_username_key ON accounts (username_key);

ALTER TABLE programs ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE programs SET name_key = CASE
    WHEN (SELECT COUNT(*) FROM programs AS other
          WHERE other.account_id = programs.account_id
            AND lower(other.name) = lower(programs.name)) > 1 THEN name
    ELSE lower(name) END;
CREATE UNIQUE INDEX programs_account_name_key ON programs (account_id, name_key);
