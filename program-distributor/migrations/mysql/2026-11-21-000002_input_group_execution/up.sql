-- Execution-only mode: the id of the accepted execution file of an unproven input group (its
-- object key holds it). An unproven group with an execution waits for a prover; cleared when
-- the group is proven (the execution object is deleted then).
ALTER TABLE input_groups ADD COLUMN execution_id VARCHAR(36) NULL;
