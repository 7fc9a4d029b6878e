ALTER TABLE programs DROP COLUMN min_provable_bits;
ALTER TABLE programs DROP COLUMN min_conjectured_bits;
