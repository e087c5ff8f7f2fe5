-- Linear-time checks, and no quadratic lock step in the verdicts. Found by profiling one
-- `provisioner work` draining 20,000 uploads over 1,000 tenants (perf over the whole machine,
-- and auto_explain of every statement inside the functions), where 73% of the CPU was
-- PostgreSQL's:
--
--  * 8.5% was the regular expressions of three CHECK constraints, which PostgreSQL evaluates on
--    every UPDATE of the row, whichever columns change: `credentials.sha256` at the claim, the
--    verdict and the supersession of every upload, `tenants.slug` at each verdict of a tenant.
--    A counted repetition such as `[0-9a-f]{64}` costs 8.6 us a string here (200,000 in psql),
--    against 0.6 us for a length and a negated character class. Each constraint is replaced by
--    an expression that accepts exactly the same strings (a store test compares each with the
--    original expression over edge cases and mutations of valid values), under the same name.
--  * 14% was sorting: the verdicts' step 1 locked the tenants with the credentials in the same
--    statement. When another batch had updated a tenant row before we got its lock (batches in
--    flight share tenants), PostgreSQL rechecked that row by running the statement's scan of the
--    credentials again, which sorted the batch's `ids` array (4,000 uuids) for every such tenant.
--    The tenants are now found first, then locked by id.
--  * The claim read and sorted every due upload: with 20,000 made due at once (a release, a
--    requeue after a URI set change) and statistics not yet updated, the planner took a bitmap
--    scan of the whole backlog and sorted it (41 ms of a 196 ms claim of 4,000), where the
--    queue's index gives the first `batch_limit` in order. The claim does not use bitmap scans.
--
-- complete_verifications is 0020's apart from step 1.

ALTER TABLE credentials DROP CONSTRAINT credentials_sha256_check;
ALTER TABLE credentials ADD CONSTRAINT credentials_sha256_check
    CHECK (length(sha256) = 64 AND sha256 !~ '[^0-9a-f]');

ALTER TABLE credentials DROP CONSTRAINT credentials_trace_parent_check;
ALTER TABLE credentials ADD CONSTRAINT credentials_trace_parent_check
    CHECK (length(trace_parent) = 55 AND trace_parent !~ '[^0-9a-f-]' AND left(trace_parent, 3) = '00-'
           AND strpos(substr(trace_parent, 4), '-') = 33 AND strpos(substr(trace_parent, 37), '-') = 17
           AND strpos(substr(trace_parent, 54), '-') = 0);

ALTER TABLE tenants DROP CONSTRAINT tenants_slug_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_check
    CHECK (length(slug) BETWEEN 3 AND 63 AND slug !~ '[^a-z0-9-]' AND left(slug, 1) <> '-' AND right(slug, 1) <> '-');

ALTER FUNCTION claim_verifications(integer, bigint, bigint, text) SET enable_bitmapscan TO off;

CREATE OR REPLACE FUNCTION complete_verifications(ids uuid[], versions integer[], verdicts text[], findings_list jsonb[], uri_versions integer[]) RETURNS integer
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    tenant_ids uuid[];
    locked uuid[];
    recorded integer;
BEGIN
    -- 0. A small batch (an idle worker's verdict or a few) reuses the generic plans this
    --    connection made before: planning the three statements below for one job took 1.4 ms
    --    of the call's 2.2 ms (0.8 ms with the cached plans, also with 20,000 uploads in
    --    `verifying`). A large batch keeps plans made for its size, for the reason given in
    --    0011. The function's SET clause puts the setting back when it returns.
    PERFORM set_config('plan_cache_mode',
                       CASE WHEN cardinality(ids) <= 32 THEN 'force_generic_plan' ELSE 'force_custom_plan' END, true);

    -- 1. Tenant rows, of every job of the batch (taken or not), in id order. ORDER BY is
    --    applied before FOR UPDATE, so rows are locked in that order. The tenants are found
    --    first, without a lock: a row that another batch updated while we waited for it is
    --    rechecked against the statement's conditions, and with the credentials in the
    --    statement each recheck scanned them again and sorted the whole `ids` array (see the
    --    header).
    SELECT array_agg(DISTINCT c.tenant_id) INTO tenant_ids FROM credentials c WHERE c.id = ANY (ids);
    PERFORM 1 FROM tenants t
    WHERE t.id = ANY (tenant_ids)
    ORDER BY t.id
    FOR UPDATE;

    -- 2. The jobs whose verdict is still wanted: `verifying` at the claimed version.
    SELECT array_agg(l.id) INTO locked
    FROM (
        SELECT c.id FROM credentials c
        JOIN unnest(ids, versions) AS j(id, version) ON c.id = j.id AND c.verification_version = j.version
        WHERE c.state = 'verifying'
        ORDER BY c.tenant_id, c.id
        FOR UPDATE OF c
    ) l;
    IF locked IS NULL THEN
        RETURN 0;
    END IF;

    -- 3. Decide, supersede, write, and update the tenants. `newer` (the window) is the jobs of
    --    the same tenant uploaded after this one; `nv` is the tenant's newest upload verified
    --    before this batch.
    WITH job AS (
        SELECT DISTINCT ON (c.id) c.id, c.tenant_id, c.uploaded_at, j.verdict, j.findings,
               nullif(j.uri_version, 0) AS uri_version
        FROM unnest(ids, versions, verdicts, findings_list, uri_versions) WITH ORDINALITY
                 AS j(id, version, verdict, findings, uri_version, n)
        JOIN credentials c ON c.id = j.id AND c.verification_version = j.version
        WHERE c.id = ANY (locked)
        ORDER BY c.id, j.n
    ), decided AS (
        SELECT job.id, job.tenant_id, job.findings, job.uri_version, nv.id IS NOT NULL AS tenant_had_verified,
               CASE WHEN job.verdict = 'verified' AND (
                        coalesce((job.uploaded_at, job.id) < (nv.uploaded_at, nv.id), false)
                        OR coalesce(bool_or(job.verdict = 'verified') OVER newer, false))
                    THEN 'superseded'
                    ELSE job.verdict
               END AS final_state
        FROM job
        LEFT JOIN LATERAL (
            SELECT v.uploaded_at, v.id FROM credentials v
            WHERE v.tenant_id = job.tenant_id AND v.state = 'verified'
            ORDER BY v.uploaded_at DESC, v.id DESC
            LIMIT 1
        ) nv ON true
        WINDOW newer AS (PARTITION BY job.tenant_id ORDER BY job.uploaded_at DESC, job.id DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), superseded AS (
        UPDATE credentials c SET state = 'superseded'
        FROM decided w
        WHERE w.final_state = 'verified' AND w.tenant_had_verified AND c.tenant_id = w.tenant_id AND c.state = 'verified'
        RETURNING c.id
    ), written AS (
        UPDATE credentials c
        SET state = d.final_state, findings = d.findings, uri_set_version = d.uri_version,
            verified_at = now(), lease_expires_at = NULL, claimed_by = NULL, last_error = NULL
        FROM decided d
        WHERE c.id = d.id
        RETURNING c.id
    ), per_tenant AS (
        SELECT d.tenant_id,
               (array_agg(d.id) FILTER (WHERE d.final_state = 'verified'))[1] AS winner,
               (array_agg(d.uri_version) FILTER (WHERE d.final_state = 'verified'))[1] AS winner_uri_version,
               array_agg(d.id) AS job_ids,
               array_agg(d.final_state) AS job_states
        FROM decided d
        GROUP BY d.tenant_id
    ), tenants_updated AS (
        UPDATE tenants t
        SET active_credential_id = CASE
                WHEN p.winner IS NOT NULL THEN
                    CASE WHEN p.winner_uri_version IS NOT DISTINCT FROM t.current_uri_set_version THEN p.winner END
                WHEN t.active_credential_id = ANY (p.job_ids) THEN NULL
                ELSE t.active_credential_id
            END,
            latest_credential_state = coalesce(p.job_states[array_position(p.job_ids, t.latest_credential_id)],
                                               t.latest_credential_state),
            updated_at = now()
        FROM per_tenant p
        WHERE t.id = p.tenant_id
        RETURNING t.id
    )
    SELECT count(*) INTO recorded FROM written;
    RETURN recorded;
END
$$;
