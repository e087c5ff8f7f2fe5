-- An upload becomes one call, `upload_credential`, a unit of work of its own (0025).
--
-- Sent from PostgresCredentialStore.upload, the upload was five round trips (BEGIN, the role
-- and scope, the insert as one `WITH` statement, the audit row, COMMIT), and its statement was
-- parsed and planned on every upload: 0.75 ms of PostgreSQL's time for each, before the client
-- had its 202. The statements are the ones the store sent, unchanged in what they do.
--
-- Two things it needs had to be written once for SQL and Swift alike, so they become
-- functions here:
--   * `wake_verification_workers()`, the NOTIFY that wakes the workers at commit: the queue's
--     one notifier (VerificationRequests calls it too; the channel is the one the workers
--     LISTEN on, VerificationQueue.channel).
--   * `append_audit_event(...)`, one row of the audit log (PostgresAuditStore.append calls it
--     too, inside the caller's transaction).

CREATE FUNCTION wake_verification_workers()
RETURNS void
LANGUAGE sql
AS $$
    SELECT pg_notify('verification_queue', '');
$$;

REVOKE ALL ON FUNCTION wake_verification_workers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wake_verification_workers() TO provisioner_app;

CREATE FUNCTION append_audit_event(
    token_id uuid, actor_role text, actor_name text, tenant_id uuid, tenant_slug text, action text, target text,
    result text, request_id text, source_address text
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO audit_events (token_id, actor_role, actor_name, tenant_id, tenant_slug, action, target, result, request_id, source_address)
    VALUES (token_id, actor_role, actor_name, tenant_id, tenant_slug, action, target, result, request_id, source_address);
END
$$;

REVOKE ALL ON FUNCTION append_audit_event(uuid, text, text, uuid, text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION append_audit_event(uuid, text, text, uuid, text, text, text, text, text, text) TO provisioner_app;

-- The upload: the row (its queue columns the table's defaults: `pending`, due now), the
-- tenant's latest pointer, the workers' wake-up (sent at commit) and the audit row; returns the
-- record as `credential_record` shows it.
--
-- The tenant's latest upload is the newest by (uploaded_at, id), the order of every list:
-- concurrent uploads commit in any order, so the pointer only ever moves forward. (Waiting on
-- the tenant row's lock, PostgreSQL checks the condition again against the row as the other
-- upload left it.)
--
-- An idempotency key's upload that is already there (its first request made it and died
-- before its answer was stored) is the answer, not a second upload: nothing is written and
-- that upload is returned.
CREATE FUNCTION upload_credential(
    role_name text, all_tenants text, scope_tenant_id text,
    new_id uuid, new_tenant_id uuid, new_uploaded_by text, new_uploaded_by_token uuid, new_sha256 text, new_client_type text,
    new_client_id text, new_project_id text, new_client_secret_hint text, new_sealed_key_id text, new_sealed_file bytea,
    new_secret_carried_from uuid, new_trace_parent text, new_trace_state text, new_idempotency_record_id uuid,
    audit_token_id uuid, audit_actor_role text, audit_actor_name text, audit_tenant_id uuid, audit_tenant_slug text,
    audit_action text, audit_target text, audit_result text, audit_request_id text, audit_source_address text
)
RETURNS SETOF credential_view
LANGUAGE plpgsql
AS $$
DECLARE
    stored_at timestamptz;
    made uuid;
BEGIN
    PERFORM take_role_and_scope(role_name, all_tenants, scope_tenant_id);
    INSERT INTO credentials (id, tenant_id, uploaded_by, uploaded_by_token, sha256, client_type, client_id, project_id,
                             client_secret_hint, sealed_key_id, sealed_file, secret_carried_from, trace_parent, trace_state,
                             idempotency_record_id)
    VALUES (new_id, new_tenant_id, new_uploaded_by, new_uploaded_by_token, new_sha256, new_client_type, new_client_id,
            new_project_id, new_client_secret_hint, new_sealed_key_id, new_sealed_file, new_secret_carried_from,
            new_trace_parent, new_trace_state, new_idempotency_record_id)
    ON CONFLICT (idempotency_record_id) WHERE idempotency_record_id IS NOT NULL DO NOTHING
    RETURNING uploaded_at INTO stored_at;
    IF stored_at IS NULL THEN
        SELECT c.id INTO made FROM credentials c
        WHERE c.idempotency_record_id = new_idempotency_record_id AND c.tenant_id = new_tenant_id;
        RETURN QUERY SELECT * FROM credential_record(role_name, all_tenants, scope_tenant_id, made, new_tenant_id);
        RETURN;
    END IF;
    UPDATE tenants t SET latest_credential_id = new_id, latest_credential_state = 'pending',
                         latest_credential_uploaded_at = stored_at, updated_at = now()
    WHERE t.id = new_tenant_id
      AND (t.latest_credential_id IS NULL
           OR (stored_at, new_id) > (t.latest_credential_uploaded_at, t.latest_credential_id));
    PERFORM wake_verification_workers();
    PERFORM append_audit_event(audit_token_id, audit_actor_role, audit_actor_name, audit_tenant_id, audit_tenant_slug,
                               audit_action, audit_target, audit_result, audit_request_id, audit_source_address);
    RETURN QUERY SELECT * FROM credential_record(role_name, all_tenants, scope_tenant_id, new_id, new_tenant_id);
END
$$;
