-- A program's verification policy: the least conjectured and provable security, in bits, of a
-- proof the server accepts for it. Programs uploaded before the policy existed get the defaults
-- the server applied to every proof until then (100 conjectured bits, no provable requirement).
ALTER TABLE programs ADD COLUMN min_conjectured_bits INT NOT NULL DEFAULT 100;
ALTER TABLE programs ADD COLUMN min_provable_bits INT NOT NULL DEFAULT 0;
