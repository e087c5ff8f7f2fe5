-- Tenants, bearer tokens and the audit log.
--
-- Row-level security: every table that holds one tenant's data has RLS ENABLEd and FORCEd.
-- A transaction of the service sets its scope with set_config(..., true):
--   provisioner.all_tenants = 'on'   support, dashboard, runtime and the worker;
--   provisioner.tenant_id   = <uuid> a tenant_admin, bound to its tenant.
-- With neither set, a tenant-owned table shows no rows.

CREATE FUNCTION provisioner_may_see(tenant uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(current_setting('provisioner.all_tenants', true), '') = 'on'
        OR tenant = nullif(current_setting('provisioner.tenant_id', true), '')::uuid
$$;

CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    suspended boolean NOT NULL DEFAULT false,
    -- Derived, kept current in the transaction of every change so the
    -- dashboard filters on an index instead of recomputing it.
    state text NOT NULL DEFAULT 'awaiting_uris'
        CHECK (state IN ('suspended', 'awaiting_uris', 'awaiting_upload', 'verifying', 'verified', 'rejected')),
    current_uri_set_version integer,
    active_credential_id uuid,
    latest_credential_id uuid,
    latest_credential_state text,
    latest_credential_uploaded_at timestamptz,
    calendar_sync_enabled boolean NOT NULL DEFAULT false,
    calendar_default_event_color text NOT NULL DEFAULT '1'
        CHECK (calendar_default_event_color IN ('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_newest ON tenants (created_at DESC, id DESC);
CREATE INDEX tenants_state_newest ON tenants (state, created_at DESC, id DESC);

-- The state is a function of the row's own columns: a trigger keeps it so on every write,
-- whichever statement changed them.
CREATE FUNCTION tenants_derive_state() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.state := CASE
        WHEN NEW.suspended THEN 'suspended'
        WHEN NEW.current_uri_set_version IS NULL THEN 'awaiting_uris'
        WHEN NEW.latest_credential_id IS NULL THEN 'awaiting_upload'
        WHEN NEW.latest_credential_state IN ('pending', 'verifying') THEN 'verifying'
        WHEN NEW.active_credential_id IS NOT DISTINCT FROM NEW.latest_credential_id THEN 'verified'
        ELSE 'rejected'
    END;
    RETURN NEW;
END
$$;
CREATE TRIGGER tenants_derive_state BEFORE INSERT OR UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_derive_state();

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_isolation ON tenants USING (provisioner_may_see(id));

CREATE TABLE tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    role text NOT NULL CHECK (role IN ('support', 'tenant_admin', 'dashboard', 'runtime')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- A tenant_admin token is bound to one tenant; the slug is kept beside the id because
    -- authentication runs before any tenant scope exists (tenants is behind RLS).
    tenant_id uuid REFERENCES tenants (id),
    tenant_slug text,
    CHECK ((role = 'tenant_admin') = (tenant_id IS NOT NULL AND tenant_slug IS NOT NULL)),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX tokens_created ON tokens (created_at DESC, id DESC);

CREATE TABLE audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    token_id uuid,
    actor_role text,
    actor_name text,
    tenant_id uuid,
    tenant_slug text,
    action text NOT NULL,
    target text,
    result text NOT NULL,
    request_id text,
    source_address text
);
CREATE INDEX audit_events_newest ON audit_events (id DESC);
CREATE INDEX audit_events_tenant ON audit_events (tenant_slug, id DESC);
CREATE INDEX audit_events_action ON audit_events (action, id DESC);

-- Anyone may append (a denied attempt is recorded whatever its scope); reading follows the scope.
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_append ON audit_events FOR INSERT WITH CHECK (true);
CREATE POLICY audit_events_read ON audit_events FOR SELECT USING (provisioner_may_see(tenant_id));

-- Least privilege. No DELETE anywhere; audit rows cannot be changed at all.
GRANT SELECT, INSERT, UPDATE ON tenants TO provisioner_app;
GRANT SELECT, INSERT ON tokens TO provisioner_app;
GRANT UPDATE (revoked_at, last_used_at) ON tokens TO provisioner_app;
GRANT SELECT, INSERT ON audit_events TO provisioner_app;
GRANT EXECUTE ON FUNCTION provisioner_may_see(uuid) TO provisioner_app;
