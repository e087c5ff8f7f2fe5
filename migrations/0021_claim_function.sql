-- The verification claim becomes a function, so that a connection parses and plans it once.
--
-- Sent as a statement (VerificationQueue.claim until now), the claim was parsed and planned on
-- every call: in PostgreSQL's log of an idle worker, 0.6 ms of parsing and 0.8 ms of planning
-- against 0.3-0.5 ms of execution, for every upload a client waits on. PL/pgSQL keeps a
-- function's plans for the life of the connection; no named prepared statement is used, so a
-- pooler in transaction mode still hands the call to any server connection.
--
-- The statement is the one VerificationQueue.claim sent, unchanged (see its comments there):
-- the due rows in order, locked with SKIP LOCKED; the batch cut at `max_bytes` of sealed files
-- (the first job always taken); the attempt counted and the lease taken at claim time; the
-- tenant's current URI set and whether the client id is another tenant's active credential
-- read beside each row, one index probe each.
--
-- Its plan: the first five calls of a connection are planned for their arguments, then
-- PostgreSQL keeps a generic plan if it costs no more than those did. The claim's shape
-- (LIMIT over the due index, LATERAL probes with LIMIT 1) is the same either way; a plan is
-- made again when the tables' statistics change.
CREATE FUNCTION claim_verifications(batch_limit integer, max_bytes bigint, lease_ms bigint, worker text)
RETURNS TABLE (
    id uuid, tenant_id uuid, verification_version integer, attempts integer, client_id text, sealed_key_id text,
    sealed_file bytea, requested_at timestamptz, uri_set_version integer, uri_set_host text, javascript_origins text[],
    redirect_uris text[], secret_carried_from uuid, client_id_in_use_elsewhere boolean, picked_count bigint,
    trace_parent text, trace_state text
)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH picked AS (
        SELECT id, tenant_id, client_id, next_attempt_at, octet_length(sealed_file) AS size FROM credentials
        WHERE state = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id
        LIMIT batch_limit
        FOR UPDATE SKIP LOCKED
    ), sized AS (
        SELECT id, tenant_id, client_id, picked_count FROM (
            SELECT id, tenant_id, client_id, count(*) OVER () AS picked_count,
                   sum(size) OVER (ORDER BY next_attempt_at, id) - size AS bytes_before
            FROM picked
        ) p
        WHERE bytes_before < max_bytes
    )
    UPDATE credentials c
    SET state = 'verifying', attempts = c.attempts + 1,
        lease_expires_at = now() + lease_ms * interval '1 millisecond', claimed_by = worker
    FROM sized picked
    LEFT JOIN LATERAL (
        SELECT version, host, javascript_origins, redirect_uris FROM uri_sets
        WHERE tenant_id = picked.tenant_id AND superseded_at IS NULL
        LIMIT 1
    ) u ON true
    LEFT JOIN LATERAL (
        SELECT true AS in_use FROM credentials o
        JOIN tenants t ON t.id = o.tenant_id AND t.active_credential_id = o.id
        WHERE o.client_id = picked.client_id AND o.state = 'verified' AND o.tenant_id <> picked.tenant_id
        LIMIT 1
    ) elsewhere ON true
    WHERE c.id = picked.id
    RETURNING c.id, c.tenant_id, c.verification_version, c.attempts, c.client_id, c.sealed_key_id, c.sealed_file,
              c.requested_at, u.version, u.host, u.javascript_origins, u.redirect_uris, c.secret_carried_from,
              coalesce(elsewhere.in_use, false), picked.picked_count, c.trace_parent, c.trace_state;
END
$$;

REVOKE ALL ON FUNCTION claim_verifications(integer, bigint, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_verifications(integer, bigint, bigint, text) TO provisioner_app;
