-- Credential health at Google: whether each issued redirect URI is registered with the
-- uploaded client (the registration probe), whether the client still exists and its secret
-- still works (the live check, run again), checked after a verdict of verified and again
-- every PROVISIONER_RECHECK_INTERVAL. Health never changes the verdict.
--
-- The check is a job of the queue the verifications use, kept in the credential's row like
-- theirs: due at health_due_at, leased by one worker at a time (never two checks of one
-- credential at once), attempts counted when claimed. A new row is due at once; the worker
-- takes only verified credentials that are their tenant's active one, so an upload is
-- checked right after its verdict, and a superseded one never again.

ALTER TABLE credentials
    ADD COLUMN health_state text NOT NULL DEFAULT 'unchecked' CHECK (health_state IN (
        'unchecked', 'ok', 'propagating', 'redirect_uri_not_registered', 'client_deleted', 'client_secret_invalid'
    )),
    ADD COLUMN health_checked_at timestamptz,
    -- [{"uri": "...", "state": "ok" | "propagating" | "redirect_uri_not_registered" | "unchecked"}]
    ADD COLUMN health_uris jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(health_uris) = 'array'),
    ADD COLUMN health_due_at timestamptz DEFAULT now(),
    ADD COLUMN health_attempts integer NOT NULL DEFAULT 0 CHECK (health_attempts >= 0),
    ADD COLUMN health_lease_expires_at timestamptz,
    ADD COLUMN health_claimed_by text,
    -- When the current run of "redirect_uri_mismatch" answers began: until
    -- PROVISIONER_REGISTRATION_WINDOW has passed since, the state is 'propagating'.
    ADD COLUMN health_mismatch_since timestamptz,
    ADD COLUMN health_last_error text CHECK (length(health_last_error) <= 500);

CREATE INDEX credentials_health_due ON credentials (health_due_at)
    WHERE state = 'verified' AND health_due_at IS NOT NULL;

GRANT UPDATE (health_state, health_checked_at, health_uris, health_due_at, health_attempts,
              health_lease_expires_at, health_claimed_by, health_mismatch_since, health_last_error)
    ON credentials TO provisioner_app;

-- Requests to Google, limited service-wide (PROVISIONER_GOOGLE_RATE a minute) whatever the
-- number of workers and replicas: one token bucket in one row. take_google_requests refills
-- it for the time elapsed and takes up to `wanted` whole tokens, returning how many it took;
-- the row lock serialises workers for the length of one statement only.
CREATE TABLE google_request_budget (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    tokens double precision NOT NULL CHECK (tokens >= 0),
    refilled_at timestamptz NOT NULL
);
INSERT INTO google_request_budget (id, tokens, refilled_at) VALUES (true, 0, now());

-- Capacity: `per_minute / 12` tokens (five seconds' worth, at least one), so that requests
-- are spread evenly over the minute rather than spent in one burst after an idle hour.
CREATE FUNCTION take_google_requests(wanted integer, per_minute integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    WITH refilled AS (
        SELECT least(greatest(per_minute / 12.0, 1.0),
                     b.tokens + per_minute / 60.0 * greatest(extract(epoch FROM clock_timestamp() - b.refilled_at), 0)) AS tokens
        FROM google_request_budget b WHERE b.id
        FOR UPDATE
    ), taken AS (
        SELECT least(greatest(wanted, 0), floor(r.tokens)::integer) AS n, r.tokens FROM refilled r
    ), updated AS (
        UPDATE google_request_budget b SET tokens = t.tokens - t.n, refilled_at = clock_timestamp()
        FROM taken t WHERE b.id
        RETURNING t.n
    )
    SELECT coalesce((SELECT n FROM updated), 0)
$$;
REVOKE ALL ON FUNCTION take_google_requests(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION take_google_requests(integer, integer) TO provisioner_app;

-- credential.unhealthy / credential.healthy (webhooks): a change of health to anything but ok,
-- and a return to ok from such a state. A first check that finds all well sends nothing.
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check CHECK (
    cardinality(events) >= 1
    AND events <@ ARRAY['credential.activated', 'credential.deactivated', 'credential.rejected', 'uri_set.issued',
                        'credential.unhealthy', 'credential.healthy']
);

CREATE FUNCTION webhook_event_from_credential_health() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM webhook_record_events(
        ARRAY[CASE WHEN NEW.health_state = 'ok' THEN 'credential.healthy' ELSE 'credential.unhealthy' END],
        ARRAY[NEW.tenant_id], ARRAY[NEW.id], ARRAY[NEW.uri_set_version]);
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_event_from_credential_health AFTER UPDATE OF health_state ON credentials
    FOR EACH ROW
    WHEN (OLD.health_state IS DISTINCT FROM NEW.health_state
          AND NEW.health_state <> 'unchecked'
          AND (NEW.health_state <> 'ok' OR OLD.health_state NOT IN ('ok', 'unchecked')))
    EXECUTE FUNCTION webhook_event_from_credential_health();

-- A credential that becomes verified again (a re-verification, a new URI set) is due for a
-- health check at once: its URIs may have changed since the last check.
CREATE FUNCTION credential_health_due_on_verdict() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.health_due_at := now();
    NEW.health_attempts := 0;
    RETURN NEW;
END
$$;
CREATE TRIGGER credential_health_due_on_verdict BEFORE UPDATE OF state ON credentials
    FOR EACH ROW
    WHEN (NEW.state = 'verified' AND OLD.state IS DISTINCT FROM 'verified')
    EXECUTE FUNCTION credential_health_due_on_verdict();

-- by_health of the dashboard summary, answered from a counter table as by_state is
-- (tenant_state_counts): counting a join of every tenant with its credential is linear in
-- tenants (156 ms at 20,000). The tenant row carries its active credential's health, kept by
-- two triggers; statement triggers on tenants add the deltas to tenant_health_counts.
ALTER TABLE tenants ADD COLUMN active_health_state text;

-- A new active credential: its health comes with it.
CREATE FUNCTION tenants_active_health() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.active_health_state := (SELECT c.health_state FROM credentials c WHERE c.id = NEW.active_credential_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER tenants_active_health BEFORE UPDATE OF active_credential_id ON tenants
    FOR EACH ROW
    WHEN (OLD.active_credential_id IS DISTINCT FROM NEW.active_credential_id)
    EXECUTE FUNCTION tenants_active_health();

-- The active credential's health changed: so does its tenant's copy.
CREATE FUNCTION credential_health_to_tenant() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE tenants SET active_health_state = NEW.health_state
    WHERE id = NEW.tenant_id AND active_credential_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER credential_health_to_tenant AFTER UPDATE OF health_state ON credentials
    FOR EACH ROW
    WHEN (OLD.health_state IS DISTINCT FROM NEW.health_state)
    EXECUTE FUNCTION credential_health_to_tenant();

GRANT UPDATE (active_health_state) ON tenants TO provisioner_app;

CREATE TABLE tenant_health_counts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state text NOT NULL,
    n bigint NOT NULL
);
GRANT SELECT ON tenant_health_counts TO provisioner_app;

-- The same bookkeeping as tenant_state_counts_apply, by active_health_state (tenants without
-- an active credential are not counted); rows are folded once there are more than 64.
CREATE FUNCTION tenant_health_counts_apply() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.tenant_health_counts (state, n)
        SELECT active_health_state, count(*) FROM new_rows WHERE active_health_state IS NOT NULL GROUP BY 1;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO public.tenant_health_counts (state, n)
        SELECT state, sum(delta) FROM (
            SELECT active_health_state AS state, 1 AS delta FROM new_rows WHERE active_health_state IS NOT NULL
            UNION ALL
            SELECT active_health_state, -1 FROM old_rows WHERE active_health_state IS NOT NULL
        ) d
        GROUP BY state HAVING sum(delta) <> 0;
    ELSE
        INSERT INTO public.tenant_health_counts (state, n)
        SELECT active_health_state, -count(*) FROM old_rows WHERE active_health_state IS NOT NULL GROUP BY 1;
    END IF;
    IF (SELECT count(*) FROM (SELECT 1 FROM public.tenant_health_counts LIMIT 65) c) > 64 THEN
        WITH folded AS (
            DELETE FROM public.tenant_health_counts
            WHERE id IN (SELECT id FROM public.tenant_health_counts FOR UPDATE SKIP LOCKED)
            RETURNING state, n
        )
        INSERT INTO public.tenant_health_counts (state, n)
        SELECT state, sum(n) FROM folded GROUP BY state;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tenant_health_counts_insert AFTER INSERT ON tenants
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_health_counts_apply();
CREATE TRIGGER tenant_health_counts_update AFTER UPDATE ON tenants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_health_counts_apply();
CREATE TRIGGER tenant_health_counts_delete AFTER DELETE ON tenants
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_health_counts_apply();

-- Existing tenants: their copy, counted by the triggers above as it is written (in the
-- all-tenants scope: row-level security binds the migration's role too).
SELECT set_config('provisioner.all_tenants', 'on', true);
UPDATE tenants t SET active_health_state = c.health_state
FROM credentials c WHERE c.id = t.active_credential_id;
