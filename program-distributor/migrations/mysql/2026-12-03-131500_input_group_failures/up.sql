-- Failed runs (BOINC's error count per workunit). A donor whose run of an input group fails
-- reports it under its live reservation; after the program's `max_failures` reports the group is
-- `failed`: no longer handed out, until its organization asks for a retry (which clears the three
-- input-group columns). `failure_log` holds the last reports as a JSON array of
-- `{"at":…,"reason":…,"message":…}`: at most 10 of bounded messages, which can still pass the
-- 64 KiB of a TEXT once escaped, hence MEDIUMTEXT.
ALTER TABLE programs ADD COLUMN max_failures INT NOT NULL DEFAULT 3;
ALTER TABLE input_groups ADD COLUMN failures INT NOT NULL DEFAULT 0;
ALTER TABLE input_groups ADD COLUMN failed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE input_groups ADD COLUMN failure_log MEDIUMTEXT NULL;
