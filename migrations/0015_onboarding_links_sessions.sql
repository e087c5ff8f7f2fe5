-- Onboarding links and browser sessions of the web console.
--
-- An onboarding link is a code of 256 random bits given to a tenant's admin; only its SHA-256
-- is stored (shown once, like a token). Opening it starts a session bound to that tenant with
-- the rights of tenant_admin. A support or dashboard token signed in at /console/login starts a
-- session bound to that token: revoking the token ends it. Sessions too are kept by the
-- SHA-256 of their cookie only, and end after 8 hours idle or 24 hours at most.

CREATE TABLE onboarding_links (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    code_hash bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The token that made it (null when made outside the API).
    created_by uuid,
    expires_at timestamptz NOT NULL,
    CHECK (expires_at > created_at),
    revoked_at timestamptz,
    last_used_at timestamptz,
    use_count integer NOT NULL DEFAULT 0 CHECK (use_count >= 0)
);
CREATE INDEX onboarding_links_tenant_newest ON onboarding_links (tenant_id, created_at DESC, id DESC);

ALTER TABLE onboarding_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE onboarding_links FORCE ROW LEVEL SECURITY;
CREATE POLICY onboarding_links_isolation ON onboarding_links USING (provisioner_may_see(tenant_id));

GRANT SELECT, INSERT ON onboarding_links TO provisioner_app;
GRANT UPDATE (revoked_at, last_used_at, use_count) ON onboarding_links TO provisioner_app;

CREATE TABLE console_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_hash bytea NOT NULL UNIQUE CHECK (length(session_hash) = 32),
    -- A link's session: the tenant and the link. A token's session: the token alone.
    tenant_id uuid REFERENCES tenants (id),
    link_id uuid REFERENCES onboarding_links (id),
    token_id uuid REFERENCES tokens (id),
    CHECK ((link_id IS NOT NULL AND tenant_id IS NOT NULL AND token_id IS NULL)
        OR (token_id IS NOT NULL AND link_id IS NULL AND tenant_id IS NULL)),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- 24 hours after it started, whatever its use.
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX console_sessions_link ON console_sessions (link_id) WHERE link_id IS NOT NULL AND ended_at IS NULL;
CREATE INDEX console_sessions_token ON console_sessions (token_id) WHERE token_id IS NOT NULL;

-- A token's session has no tenant: only the all-tenants scope sees it, as tokens of support
-- and dashboard. A link's session is its tenant's.
ALTER TABLE console_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE console_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY console_sessions_isolation ON console_sessions USING (provisioner_may_see(tenant_id));

GRANT SELECT, INSERT ON console_sessions TO provisioner_app;
GRANT UPDATE (last_seen_at, ended_at) ON console_sessions TO provisioner_app;
