-- A program's verification policy (see the MySQL migration).
ALTER TABLE programs ADD COLUMN min_conjectured_bits INTEGER NOT NULL DEFAULT 100;
ALTER TABLE programs ADD COLUMN min_provable_bits INTEGER NOT NULL DEFAULT 0;
