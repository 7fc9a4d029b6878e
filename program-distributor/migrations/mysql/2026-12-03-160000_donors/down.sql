ALTER TABLE programs DROP COLUMN public_progress;
DROP TABLE credit_entries;
DROP TABLE donor_nonces;
DROP TABLE donors;
DROP TABLE teams;
