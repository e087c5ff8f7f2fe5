-- Webhooks to the CRM runtime: endpoints, and an outbox of deliveries that is also their queue.
--
-- An event is written in the same transaction as the change that causes it, by the triggers
-- below, so a change that commits always has its events and one that rolls back has none. There
-- is no separate events table: an event is fanned out at once into one delivery per enabled
-- endpoint that subscribes to its type, and with no endpoint nothing is written (the worker's
-- verdicts pay for webhooks only when someone listens). Every delivery of one event carries the
-- same event_id, the `webhook-id` a receiver deduplicates on.

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    events text[] NOT NULL CHECK (
        cardinality(events) >= 1
        AND events <@ ARRAY['credential.activated', 'credential.deactivated', 'credential.rejected', 'uri_set.issued']
    ),
    enabled boolean NOT NULL DEFAULT true,
    -- 'gone': the receiver answered 410.
    disabled_reason text CHECK (disabled_reason IN ('gone')),
    disabled_at timestamptz,
    CHECK (enabled = (disabled_reason IS NULL) AND enabled = (disabled_at IS NULL)),
    -- The signing secret, sealed like client secrets (AES-GCM, associated data naming the endpoint).
    secret_key_id text NOT NULL,
    secret_sealed bytea NOT NULL,
    -- During a rotation the previous secret keeps signing until previous_secret_expires_at.
    previous_secret_key_id text,
    previous_secret_sealed bytea,
    previous_secret_expires_at timestamptz,
    CHECK ((previous_secret_sealed IS NULL) = (previous_secret_key_id IS NULL)
       AND (previous_secret_sealed IS NULL) = (previous_secret_expires_at IS NULL)),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The token that made it (null when made outside the API).
    created_by uuid
);
CREATE INDEX webhook_endpoints_newest ON webhook_endpoints (created_at DESC, id DESC);

-- Endpoints belong to no tenant: only the all-tenants scope (support, dashboard, the worker, the
-- event triggers) sees them.
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_endpoints_all_tenants ON webhook_endpoints
    USING (coalesce(current_setting('provisioner.all_tenants', true), '') = 'on');

GRANT SELECT, INSERT, DELETE ON webhook_endpoints TO provisioner_app;
GRANT UPDATE (enabled, disabled_reason, disabled_at, secret_key_id, secret_sealed,
              previous_secret_key_id, previous_secret_sealed, previous_secret_expires_at)
    ON webhook_endpoints TO provisioner_app;

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The order events happened in: a tenant's events reach an endpoint in seq order.
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The event, as sent on every attempt: webhook-id, type, timestamp and data.
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    tenant_id uuid NOT NULL,
    tenant_slug text NOT NULL,
    credential_id uuid,
    uri_set_version integer,
    occurred_at timestamptz NOT NULL,
    UNIQUE (endpoint_id, event_id),
    -- The queue: 'pending' until a 2xx ('succeeded') or until the schedule gives up, the
    -- endpoint answers 410 or is disabled ('failed'). Attempts are counted when claimed.
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    -- Set by a manual retry: one attempt more than made so far, whatever the schedule says.
    attempt_limit integer,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,
    claimed_by text,
    attempted_at timestamptz,
    response_status integer,
    last_error text CHECK (length(last_error) <= 500)
);
-- Due work, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending';
-- "Is an earlier event of this tenant still on its way to this endpoint?"
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, tenant_id, seq) WHERE status = 'pending';
-- An endpoint's deliveries, newest first (the API's list), and the retention cleaner.
CREATE INDEX webhook_deliveries_endpoint_newest ON webhook_deliveries (endpoint_id, seq DESC);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (attempted_at) WHERE status <> 'pending';

ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_isolation ON webhook_deliveries USING (provisioner_may_see(tenant_id));

GRANT SELECT, INSERT, DELETE ON webhook_deliveries TO provisioner_app;
GRANT UPDATE (status, attempt, attempt_limit, next_attempt_at, lease_expires_at, claimed_by,
              attempted_at, response_status, last_error)
    ON webhook_deliveries TO provisioner_app;

-- Fans events out to the endpoints that want them, in the order given, and wakes the workers.
-- Runs in the all-tenants scope whoever caused the event (a tenant's session sees no endpoint).
CREATE FUNCTION webhook_record_events(types text[], tenant_ids uuid[], credential_ids uuid[], uri_set_versions integer[])
RETURNS void
LANGUAGE plpgsql
SET provisioner.all_tenants = 'on'
AS $$
DECLARE
    fanned integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
        RETURN;
    END IF;
    WITH event AS MATERIALIZED (
        SELECT gen_random_uuid() AS id, u.type, u.tenant_id, u.credential_id, u.uri_set_version, u.n
        FROM unnest(types, tenant_ids, credential_ids, uri_set_versions) WITH ORDINALITY
             AS u(type, tenant_id, credential_id, uri_set_version, n)
    )
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, tenant_id, tenant_slug, credential_id,
                                    uri_set_version, occurred_at)
    SELECT e.id, event.id, event.type, event.tenant_id, t.slug, event.credential_id, event.uri_set_version, now()
    FROM event
    JOIN tenants t ON t.id = event.tenant_id
    JOIN webhook_endpoints e ON e.enabled AND event.type = ANY (e.events)
    ORDER BY event.n, e.id;
    GET DIAGNOSTICS fanned = ROW_COUNT;
    IF fanned > 0 THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION webhook_record_events(text[], uuid[], uuid[], integer[]) TO provisioner_app;

-- The triggers are row triggers with a WHEN clause: an update that changes nothing webhooks care
-- about (a claim, a lease renewal) pays for one comparison, never for a function call.

-- credential.activated / credential.deactivated: the credential the runtime gets changed. What
-- the runtime gets is the active credential of a tenant that is not suspended, so suspension
-- deactivates and resuming activates again.
CREATE FUNCTION webhook_event_from_tenant() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    was uuid := CASE WHEN OLD.suspended THEN NULL ELSE OLD.active_credential_id END;
    now_active uuid := CASE WHEN NEW.suspended THEN NULL ELSE NEW.active_credential_id END;
BEGIN
    IF now_active IS DISTINCT FROM was THEN
        PERFORM webhook_record_events(
            ARRAY[CASE WHEN now_active IS NULL THEN 'credential.deactivated' ELSE 'credential.activated' END],
            ARRAY[NEW.id], ARRAY[coalesce(now_active, was)], ARRAY[NEW.current_uri_set_version]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_event_from_tenant AFTER UPDATE OF active_credential_id, suspended ON tenants
    FOR EACH ROW
    WHEN (OLD.active_credential_id IS DISTINCT FROM NEW.active_credential_id OR OLD.suspended IS DISTINCT FROM NEW.suspended)
    EXECUTE FUNCTION webhook_event_from_tenant();

-- credential.rejected: a verdict of rejected (a first verification or a re-verification).
CREATE FUNCTION webhook_event_from_credential() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM webhook_record_events(ARRAY['credential.rejected'], ARRAY[NEW.tenant_id], ARRAY[NEW.id],
                                  ARRAY[NEW.uri_set_version]);
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_event_from_credential AFTER UPDATE OF state ON credentials
    FOR EACH ROW
    WHEN (NEW.state = 'rejected' AND OLD.state IS DISTINCT FROM 'rejected')
    EXECUTE FUNCTION webhook_event_from_credential();

-- uri_set.issued: a new URI set for a tenant.
CREATE FUNCTION webhook_event_from_uri_set() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM webhook_record_events(ARRAY['uri_set.issued'], ARRAY[NEW.tenant_id], ARRAY[NULL::uuid],
                                  ARRAY[NEW.version]);
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_event_from_uri_set AFTER INSERT ON uri_sets
    FOR EACH ROW EXECUTE FUNCTION webhook_event_from_uri_set();

-- Delivery queue
-- The deliveries leased right now, by endpoint: the claim counts them to keep each endpoint
-- within its share of a worker's slots, and the exhausted-lease sweep reads them. Only rows
-- in flight are in it (completion clears the lease), so it stays a few hundred entries.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (endpoint_id, lease_expires_at)
    WHERE status = 'pending' AND lease_expires_at IS NOT NULL;
