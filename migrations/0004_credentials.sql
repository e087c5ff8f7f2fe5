-- Uploads of client_secrets.json, and the verification queue they form.
--
-- A credential row is also its own verification job, in the manner of River and Oban but
-- without a second table: `pending` is available, `verifying` is running under a lease.
-- `verification_version` names one verification request: re-verification bumps it, and a
-- worker's verdict is recorded only for the version it claimed, so a verdict is never
-- recorded twice for one request, whatever crashes or races in between.

CREATE TABLE credentials (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'verifying', 'verified', 'rejected', 'superseded')),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    uploaded_by text NOT NULL,
    uploaded_by_token uuid,
    -- The non-secret summary, extracted at upload for listings.
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    client_type text CHECK (client_type IN ('web', 'installed')),
    client_id text,
    project_id text,
    client_secret_hint text,
    -- The whole uploaded file, sealed with AES-256-GCM (nonce, ciphertext and tag) under the
    -- key `sealed_key_id`, bound to this tenant and this credential.
    sealed_key_id text NOT NULL,
    sealed_file bytea NOT NULL,
    -- The verdict.
    uri_set_version integer,
    verified_at timestamptz,
    findings jsonb NOT NULL DEFAULT '[]',
    -- The queue. requested_at: when the current verification was asked for (upload,
    -- re-verification or a new URI set), for the dashboard's oldest pending age.
    verification_version integer NOT NULL DEFAULT 1,
    requested_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,
    claimed_by text,
    last_error text
);
-- Listing a tenant's uploads, newest first.
CREATE INDEX credentials_tenant_newest ON credentials (tenant_id, uploaded_at DESC, id DESC);
-- The producer's claim: only rows waiting for a worker.
CREATE INDEX credentials_queue_pending ON credentials (next_attempt_at, id) WHERE state = 'pending';
-- The dashboard: how many wait, and since when.
CREATE INDEX credentials_queue_waiting ON credentials (requested_at) WHERE state IN ('pending', 'verifying');
-- The rescuer: leases that may have expired.
CREATE INDEX credentials_queue_leased ON credentials (lease_expires_at) WHERE state = 'verifying';
-- client_id_in_use: is this client the active credential of another tenant? A hash index,
-- since an uploaded client_id can be longer than a b-tree entry may be.
CREATE INDEX credentials_client_id ON credentials USING hash (client_id) WHERE client_id IS NOT NULL;

ALTER TABLE credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY credentials_isolation ON credentials USING (provisioner_may_see(tenant_id));

ALTER TABLE tenants ADD CONSTRAINT tenants_active_credential FOREIGN KEY (active_credential_id) REFERENCES credentials (id);
ALTER TABLE tenants ADD CONSTRAINT tenants_latest_credential FOREIGN KEY (latest_credential_id) REFERENCES credentials (id);

GRANT SELECT, INSERT ON credentials TO provisioner_app;
GRANT UPDATE (state, uri_set_version, verified_at, findings, verification_version, requested_at, attempts, next_attempt_at,
              lease_expires_at, claimed_by, last_error, sealed_key_id, sealed_file)
    ON credentials TO provisioner_app;

-- Records verdicts for a batch of claimed jobs, in one statement from the worker.
-- uri_versions[i] = 0 stands for "no URI set" (arrays of the client cannot carry NULLs).
--
-- For each job: the verdict is taken only if the row is still `verifying` at the version the
-- worker claimed (a rescued or re-requested job is left alone). A verified credential becomes
-- the tenant's active one when it was verified against the tenant's current URI set and no
-- newer upload of the tenant is verified; older verified uploads become `superseded`; one that
-- passes while a newer one is verified ends `superseded` at once. The tenant's derived columns
-- are updated in the same statement, so its state (trigger) stays right.
CREATE FUNCTION complete_verifications(
    ids uuid[], versions integer[], verdicts text[], findings_list jsonb[], uri_versions integer[]
) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    i integer;
    job record;
    recorded integer := 0;
    row credentials%ROWTYPE;
    final_state text;
    newer_verified boolean;
BEGIN
    -- Locks are taken tenant row first, then credential rows, tenant by tenant in one order:
    -- the same order as the API's writes, so two completers, or a completer and a
    -- re-verification, wait for each other instead of deadlocking; and the check for a newer
    -- verified upload sees what another completer of the same tenant just committed.
    FOR job IN
        SELECT j.i, c.tenant_id
        FROM generate_subscripts(ids, 1) AS j(i) JOIN credentials c ON c.id = ids[j.i]
        ORDER BY c.tenant_id, c.id
    LOOP
        i := job.i;
        PERFORM 1 FROM tenants WHERE id = job.tenant_id FOR UPDATE;
        SELECT * INTO row FROM credentials
        WHERE id = ids[i] AND verification_version = versions[i] AND state = 'verifying'
        FOR UPDATE;
        CONTINUE WHEN NOT FOUND;

        final_state := verdicts[i];
        IF final_state = 'verified' THEN
            SELECT EXISTS (
                SELECT 1 FROM credentials c
                WHERE c.tenant_id = row.tenant_id AND c.state = 'verified'
                  AND (c.uploaded_at, c.id) > (row.uploaded_at, row.id)
            ) INTO newer_verified;
            IF newer_verified THEN
                final_state := 'superseded';
            ELSE
                UPDATE credentials SET state = 'superseded'
                WHERE tenant_id = row.tenant_id AND state = 'verified' AND id <> row.id;
            END IF;
        END IF;

        UPDATE credentials
        SET state = final_state, findings = findings_list[i], uri_set_version = nullif(uri_versions[i], 0),
            verified_at = now(), lease_expires_at = NULL, claimed_by = NULL, last_error = NULL
        WHERE id = row.id;

        UPDATE tenants t
        SET active_credential_id = CASE
                WHEN final_state = 'verified' AND nullif(uri_versions[i], 0) IS NOT DISTINCT FROM t.current_uri_set_version THEN row.id
                WHEN t.active_credential_id = row.id THEN NULL
                WHEN final_state = 'verified' THEN NULL
                ELSE t.active_credential_id
            END,
            latest_credential_state = CASE WHEN t.latest_credential_id = row.id THEN final_state ELSE t.latest_credential_state END,
            updated_at = now()
        WHERE t.id = row.tenant_id;

        recorded := recorded + 1;
    END LOOP;
    RETURN recorded;
END
$$;
GRANT EXECUTE ON FUNCTION complete_verifications(uuid[], integer[], text[], jsonb[], integer[]) TO provisioner_app;

-- The dashboard's verdict counts of the last 24 hours, from an index rather than a scan.
CREATE INDEX credentials_verdict_time ON credentials (verified_at, state) WHERE verified_at IS NOT NULL;
