-- URI sets: what the support desk issues to a tenant.
-- Versioned and immutable once issued: the only later change is superseded_at.

CREATE TABLE uri_sets (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    version integer NOT NULL CHECK (version > 0),
    host text NOT NULL,
    custom_domain text,
    javascript_origins text[] NOT NULL,
    redirect_uris text[] NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    issued_by text NOT NULL,
    issued_by_token uuid,
    superseded_at timestamptz,
    PRIMARY KEY (tenant_id, version)
);
-- One current set per tenant, and no two tenants' current sets on one host. A unique index is
-- enforced over all rows, whatever row-level security lets a transaction see.
CREATE UNIQUE INDEX uri_sets_one_current ON uri_sets (tenant_id) WHERE superseded_at IS NULL;
CREATE UNIQUE INDEX uri_sets_current_host ON uri_sets (host) WHERE superseded_at IS NULL;

ALTER TABLE uri_sets ENABLE ROW LEVEL SECURITY;
ALTER TABLE uri_sets FORCE ROW LEVEL SECURITY;
CREATE POLICY uri_sets_isolation ON uri_sets USING (provisioner_may_see(tenant_id));

GRANT SELECT, INSERT ON uri_sets TO provisioner_app;
GRANT UPDATE (superseded_at) ON uri_sets TO provisioner_app;
