-- A unit of work that is one function call takes the role and scope itself: one round trip
-- where a transaction spends four.
--
-- Every unit of work takes the role `provisioner_app` and its row-level-security scope before
-- anything else, transaction-local. Until now that was a statement of its own inside BEGIN ...
-- COMMIT, so the smallest unit was four round trips: BEGIN, the role and scope, the statement,
-- COMMIT. A client waiting on its upload's verdict pays that for the worker's claim, for its
-- verdict and for every GET of the credential: in PostgreSQL's log of an idle upload, three
-- quarters of a GET's 1.2 ms were those round trips and planning its statement.
--
-- `take_role_and_scope` is now the one definition of that first step (Database.takeRoleAndScope
-- calls it as the first statement of a transaction). A function that is a whole unit of work
-- calls it as its first statement and is called on its own, in the implicit transaction of
-- the call (Database.call): the settings end with that transaction, as they do at COMMIT, so
-- nothing is left on the connection and a pooler in transaction mode may hand the next call
-- to any server connection. PL/pgSQL plans each later statement when it first runs, so as
-- `provisioner_app` under its policies; a plan cached in a connection is made again if the
-- role differs (PostgreSQL keys row-level-security plans by role).
--
-- Invoker's rights: setting `role` is refused to a role that is not a member of it, so the
-- first statement is the check. The entry functions below may be executed by any role for
-- that reason (the login role calls them before it is `provisioner_app`); what they call
-- keeps its grant to `provisioner_app` only.
CREATE FUNCTION take_role_and_scope(role_name text, all_tenants text, tenant_id text)
RETURNS void
LANGUAGE sql
AS $$
    SELECT set_config('role', role_name, true),
           set_config('provisioner.all_tenants', all_tenants, true),
           set_config('provisioner.tenant_id', tenant_id, true);
$$;

-- A credential as the API shows it: the columns of PostgresCredentialStore.columns, in that
-- order. What the units of work that return a credential return.
CREATE TYPE credential_view AS (
    id uuid, tenant_id uuid, slug text, state text, uploaded_at timestamptz, uploaded_by text, sha256 text,
    client_type text, client_id text, project_id text, client_secret_hint text, uri_set_version integer,
    verified_at timestamptz, attempts integer, findings text, uploaded_at_micros bigint, health_state text,
    health_checked_at timestamptz, health_uris text
);

-- One credential (PostgresCredentialStore.get, every GET a client polls its upload's verdict
-- with).
CREATE FUNCTION credential_record(role_name text, all_tenants text, scope_tenant_id text, credential uuid, tenant uuid)
RETURNS SETOF credential_view
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM take_role_and_scope(role_name, all_tenants, scope_tenant_id);
    RETURN QUERY
    SELECT c.id, c.tenant_id, t.slug, c.state, c.uploaded_at, c.uploaded_by, c.sha256, c.client_type, c.client_id,
           c.project_id, c.client_secret_hint, c.uri_set_version, c.verified_at, c.attempts, c.findings::text,
           (extract(epoch FROM c.uploaded_at) * 1000000)::bigint, c.health_state, c.health_checked_at, c.health_uris::text
    FROM credentials c JOIN tenants t ON t.id = c.tenant_id
    WHERE c.id = credential AND c.tenant_id = tenant;
END
$$;

-- The worker's claim (0021) as a unit of work of its own.
CREATE FUNCTION claim_verifications(
    role_name text, all_tenants text, scope_tenant_id text, batch_limit integer, max_bytes bigint, lease_ms bigint, worker text
)
RETURNS TABLE (
    id uuid, tenant_id uuid, verification_version integer, attempts integer, client_id text, sealed_key_id text,
    sealed_file bytea, requested_at timestamptz, uri_set_version integer, uri_set_host text, javascript_origins text[],
    redirect_uris text[], secret_carried_from uuid, client_id_in_use_elsewhere boolean, picked_count bigint,
    trace_parent text, trace_state text
)
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM take_role_and_scope(role_name, all_tenants, scope_tenant_id);
    RETURN QUERY SELECT * FROM claim_verifications(batch_limit, max_bytes, lease_ms, worker);
END
$$;

-- The worker's verdicts (0008, 0011, 0012, 0020) as a unit of work of their own.
CREATE FUNCTION complete_verifications(
    role_name text, all_tenants text, scope_tenant_id text,
    ids uuid[], versions integer[], verdicts text[], findings_list jsonb[], uri_versions integer[]
)
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM take_role_and_scope(role_name, all_tenants, scope_tenant_id);
    RETURN complete_verifications(ids, versions, verdicts, findings_list, uri_versions);
END
$$;
