-- complete_verifications, set-based (same arguments, same meaning as in 0004).
--
-- 0004 recorded a batch in a PL/pgSQL loop, one job at a time: per job a tenant lock, a
-- credential lock, a look for a newer verified upload, up to three UPDATEs, and so one firing
-- of tenants' statement trigger (tenant_state_counts) per job. At 500 jobs a batch that was
-- about 100 ms, the drain's bottleneck. Here the batch takes three statements, whatever its
-- size:
--
--   1. the batch's tenant rows locked FOR UPDATE, in tenant id order;
--   2. its credential rows still `verifying` at the claimed version locked FOR UPDATE, in
--      (tenant_id, id) order: the fence (a rescued or re-requested job is left alone);
--   3. one statement that decides every job's final state, supersedes older verified uploads,
--      writes the verdicts and updates each touched tenant once (one firing of the state
--      trigger per tenant, one of the counts trigger per batch).
--
-- Locks are still taken tenant rows first, then credential rows, in one global order: every
-- writer of a tenant's credentials (the API's re-verification and URI issuance, and other
-- completers) locks the tenant row first, so none of them can hold a credential row this
-- function waits for while waiting for a tenant row it holds.
--
-- PL/pgSQL rather than one SQL statement with data-modifying CTEs: at READ COMMITTED each
-- statement here takes a new snapshot, so statement 3 runs after the locks are held and sees
-- what another completer of the same tenants committed while this one waited (its verified
-- upload must supersede ours, or be superseded by it). One statement would keep the snapshot
-- taken before the wait. Within statement 3 the CTEs share one snapshot, which is what they
-- need: the rows they UPDATE are disjoint (verified rows superseded, verifying rows given their
-- verdict, tenant rows once each), and all are locked already.
--
-- What a verdict becomes (the same outcome as the loop of 0004 in whatever order it visited
-- the jobs):
--   - a `verified` verdict ends `superseded` when a newer (uploaded_at, id) upload of its tenant
--     is already verified, or is verified by this batch too; otherwise it is the tenant's one
--     winner, and the tenant's other verified uploads (all older) become `superseded`;
--   - any other verdict is written as it is;
--   - a tenant with a winner: the winner is its active credential if it was verified against
--     the tenant's current URI set, else it has none; a tenant without one keeps its active
--     credential unless that row was given a verdict here (then none);
--   - latest_credential_state follows the final state of the tenant's latest upload when that
--     upload is in the batch.
-- uri_versions[i] = 0 stands for "no URI set" (arrays of the client cannot carry NULLs).
-- Should the batch name one row twice, the first verdict for it is taken, once.

-- A tenant's verified uploads, newest first: the newest is looked up for every job of a batch
-- and the rest are superseded. Through credentials_tenant_newest each look-up read every upload
-- of the tenant (and its dead versions) to find the one verified; this index holds only
-- verified rows, which are few (one per tenant, bar a verdict in flight).
CREATE INDEX credentials_tenant_verified ON credentials (tenant_id, uploaded_at DESC, id DESC) WHERE state = 'verified';

CREATE OR REPLACE FUNCTION complete_verifications(
    ids uuid[], versions integer[], verdicts text[], findings_list jsonb[], uri_versions integer[]
) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    locked uuid[];
    recorded integer;
BEGIN
    -- 1. Tenant rows, of every job of the batch (taken or not), in id order. ORDER BY is
    --    applied before FOR UPDATE, so rows are locked in that order.
    PERFORM 1 FROM tenants t
    WHERE t.id IN (SELECT c.tenant_id FROM credentials c WHERE c.id = ANY (ids))
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
GRANT EXECUTE ON FUNCTION complete_verifications(uuid[], integer[], text[], jsonb[], integer[]) TO provisioner_app;
