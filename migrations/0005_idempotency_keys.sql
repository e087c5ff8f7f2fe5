-- Idempotency-Key on POST operations: the first answer to (token, key)
-- is kept 24 hours and replayed for the same body. The stored answer is sealed like a secret,
-- since the answer to POST /v1/tokens holds a new token.

CREATE TABLE idempotency_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_id uuid NOT NULL,
    key text NOT NULL,
    -- The tenant of a tenant_admin caller (row-level security); null for the global roles.
    tenant_id uuid REFERENCES tenants (id),
    operation text NOT NULL,
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    -- A running request whose process died is taken over after this.
    locked_until timestamptz NOT NULL,
    status integer,
    content_type text,
    location text,
    sealed_key_id text,
    sealed_body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (token_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_isolation ON idempotency_keys USING (provisioner_may_see(tenant_id));

GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO provisioner_app;
