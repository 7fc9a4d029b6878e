-- The id of the live reservation of an input group (a random UUID v4 handed to its holder in the
-- reservation tar): the holder releases the group with it, and a refused upload ends the
-- reservation only when it names it. Cleared whenever the lock is (release, proof, execution,
-- rejected proof); a stale value under an expired lock matches nothing.
ALTER TABLE input_groups ADD COLUMN reservation_id VARCHAR(36) NULL;
