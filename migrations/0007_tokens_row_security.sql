-- Tokens behind row-level security too: a tenant_admin token belongs to one tenant.
--
-- Authentication happens before any scope exists: it goes through authenticate_token(),
-- whose own SET clause gives it the all-tenant scope for the length of the call only, so the
-- service needs no wider privilege and a query without context still sees no token.

ALTER TABLE tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tokens_isolation ON tokens USING (provisioner_may_see(tenant_id));

-- The token with this hash, usable or not, noting its use at most once a minute (so that a
-- busy token does not write on every request).
CREATE FUNCTION authenticate_token(hash bytea)
RETURNS TABLE (
    id uuid, role text, name text, tenant_id uuid, tenant_slug text, created_at timestamptz,
    expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz, created_micros bigint
)
LANGUAGE sql VOLATILE
SET provisioner.all_tenants = 'on'
AS $$
    WITH found AS (
        SELECT t.id, t.role, t.name, t.tenant_id, t.tenant_slug, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
               (extract(epoch FROM t.created_at) * 1000000)::bigint AS created_micros
        FROM tokens t WHERE t.token_hash = hash
    ), touched AS (
        UPDATE tokens SET last_used_at = now()
        WHERE tokens.id = (SELECT found.id FROM found) AND tokens.revoked_at IS NULL
          AND (tokens.last_used_at IS NULL OR tokens.last_used_at < now() - interval '60 seconds')
        RETURNING tokens.id
    )
    SELECT found.* FROM found
$$;
GRANT EXECUTE ON FUNCTION authenticate_token(bytea) TO provisioner_app;
