-- The drain, profiled per statement (CPU of each, from log_statement_stats) on a freshly loaded
-- backlog, the case bench/drain.sh measures: two fixes to 0008, which is applied already and so
-- is not edited.
--
-- 1. Indexes of verified rows only (about one per tenant) as hash indexes. 0008's partial
--    b-tree credentials_tenant_verified could be scanned whole without a key, and on a table
--    whose statistics were taken while few rows were verified the planner did just that for
--    client_id_in_use (VerificationQueue.clientIDsActiveElsewhere), once per probe: 25 ms a
--    batch of 500. A hash index can only be probed with its key, so each of these two serves
--    its own question and nothing else.
--
--    - credentials_verified_tenant: a tenant's verified uploads, for complete_verifications
--      (the newest is looked up for every job of a batch, the others are superseded).
--    - credentials_verified_client_id: client_id_in_use, which asks only about verified rows,
--      replaces 0004's credentials_client_id. That one held every version of every row, so
--      each claim and each verdict added an entry to it; it has no other reader.
DROP INDEX credentials_tenant_verified;
CREATE INDEX credentials_verified_tenant ON credentials USING hash (tenant_id) WHERE state = 'verified';
CREATE INDEX credentials_verified_client_id ON credentials USING hash (client_id) WHERE state = 'verified';
DROP INDEX credentials_client_id;

-- 2. complete_verifications planned for the batch at hand. PL/pgSQL switches to a generic plan
--    after five calls, and a generic plan guesses ten elements per array argument: it joined
--    the batch to the rows it names by nested loops, quadratic in the batch (30 ms and more at
--    500 jobs, growing with the rows in `verifying`). Planning its three statements each time
--    costs about a millisecond.
ALTER FUNCTION complete_verifications(uuid[], integer[], text[], jsonb[], integer[]) SET plan_cache_mode = force_custom_plan;
