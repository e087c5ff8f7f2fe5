-- Limits and authority: who made which token, and failed sign-ins
-- audited at most once per client address per minute.

-- Revoking a token with `cascade=true` walks its offspring (tokens.created_by, which every
-- token has carried since 0002) with a recursive query: one index probe per generation.
CREATE INDEX tokens_created_by ON tokens (created_by) WHERE created_by IS NOT NULL;

-- Authentication returns created_by too. A new function rather than a changed one: binaries
-- older than this migration still call authenticate_token during a rolling deploy, and its
-- result type cannot change under them. authenticate_token now reads through the new one, so
-- there is one body.
CREATE FUNCTION authenticate_bearer(hash bytea)
RETURNS TABLE (
    id uuid, role text, name text, tenant_id uuid, tenant_slug text, created_at timestamptz,
    expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz, created_micros bigint,
    created_by uuid
)
LANGUAGE sql VOLATILE
SET provisioner.all_tenants = 'on'
AS $$
    WITH found AS (
        SELECT t.id, t.role, t.name, t.tenant_id, t.tenant_slug, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
               (extract(epoch FROM t.created_at) * 1000000)::bigint AS created_micros, t.created_by
        FROM tokens t WHERE t.token_hash = hash
    ), touched AS (
        UPDATE tokens SET last_used_at = now()
        WHERE tokens.id = (SELECT found.id FROM found) AND tokens.revoked_at IS NULL
          AND (tokens.last_used_at IS NULL OR tokens.last_used_at < now() - interval '60 seconds')
        RETURNING tokens.id
    )
    SELECT found.* FROM found
$$;
GRANT EXECUTE ON FUNCTION authenticate_bearer(bytea) TO provisioner_app;

CREATE OR REPLACE FUNCTION authenticate_token(hash bytea)
RETURNS TABLE (
    id uuid, role text, name text, tenant_id uuid, tenant_slug text, created_at timestamptz,
    expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz, created_micros bigint
)
LANGUAGE sql VOLATILE
SET provisioner.all_tenants = 'on'
AS $$
    SELECT a.id, a.role, a.name, a.tenant_id, a.tenant_slug, a.created_at, a.expires_at, a.revoked_at, a.last_used_at,
           a.created_micros
    FROM authenticate_bearer(hash) a
$$;

-- Failed sign-ins (no token, or one nobody issued) are aggregated: one audit row per client
-- address per minute, action 'auth.failed', whose `count` says how many attempts it stands for.
-- Every other row stands for one event: count 1.
--
-- Why an upsert into audit_events, through a SECURITY DEFINER function, rather than a
-- counter table beside it: the row is the audit record the feed shows, it is written in the
-- statement that counts the attempt (no second table to join or to aggregate later), and
-- the unique index makes "one row per address per minute" a property of the table, whatever
-- the number of replicas or the rate of the flood.
--
-- The append-only promise holds: provisioner_app is still granted neither UPDATE nor DELETE
-- on audit_events, so any UPDATE or DELETE it sends fails with a permission error, for every
-- row. Only record_auth_failure, owned by the migration owner, changes a row, and only the
-- `count` (and a missing request id) of an 'auth.failed' row of its minute bucket, by way of ON CONFLICT; the
-- update policy below admits no other row even for the owner (who is under FORCE ROW LEVEL
-- SECURITY like everyone else).
ALTER TABLE audit_events ADD COLUMN count integer NOT NULL DEFAULT 1 CHECK (count >= 1);
-- The minute an 'auth.failed' row counts attempts for; null on every other row.
ALTER TABLE audit_events ADD COLUMN attempts_minute timestamptz;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_attempts_minute_only_auth_failed
    CHECK ((attempts_minute IS NOT NULL) = (action = 'auth.failed')) NOT VALID;
ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_attempts_minute_only_auth_failed;
CREATE UNIQUE INDEX audit_events_auth_failed_bucket ON audit_events (coalesce(source_address, ''), attempts_minute)
    WHERE action = 'auth.failed';

CREATE POLICY audit_events_auth_failed_count ON audit_events FOR UPDATE
    USING (action = 'auth.failed') WITH CHECK (action = 'auth.failed');

-- Counts `attempts` failed sign-ins from `from_address` in the minute of `attempted_at` (the
-- current minute when null, or when the caller's clock is more than a minute ahead of the
-- database's or ten minutes behind it). The first attempt of a bucket inserts its row, with
-- its request id; later ones add to its count (and give it a request id if it has none yet).
-- Returns the bucket's count.
CREATE FUNCTION record_auth_failure(from_address text, first_request_id text, attempts integer, attempted_at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
SET provisioner.all_tenants = 'on'
AS $$
DECLARE
    bucket timestamptz := date_trunc('minute', now());
    total integer;
BEGIN
    IF attempts IS NULL OR attempts < 1 THEN
        RAISE EXCEPTION 'attempts must be at least 1' USING ERRCODE = 'check_violation';
    END IF;
    IF attempted_at IS NOT NULL AND attempted_at BETWEEN now() - interval '10 minutes' AND now() + interval '1 minute' THEN
        bucket := date_trunc('minute', attempted_at);
    END IF;
    INSERT INTO public.audit_events AS e (action, result, request_id, source_address, count, attempts_minute)
    VALUES ('auth.failed', 'unauthenticated', first_request_id, from_address, attempts, bucket)
    ON CONFLICT (coalesce(source_address, ''), attempts_minute) WHERE action = 'auth.failed'
    -- A request's own row may be written after a batch of later attempts of its minute (the
    -- batch's flush does not wait for it): the row then takes the first request id it is given.
    DO UPDATE SET count = e.count + EXCLUDED.count, request_id = coalesce(e.request_id, EXCLUDED.request_id)
    RETURNING e.count INTO total;
    RETURN total;
END
$$;
REVOKE ALL ON FUNCTION record_auth_failure(text, text, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_auth_failure(text, text, integer, timestamptz) TO provisioner_app;

-- The audit page carries `count`. The result type of audit_events_page changes, so it is
-- dropped and made again; binaries older than this migration name the columns they read.
CREATE OR REPLACE FUNCTION audit_events_page_sql(by_tenant boolean, by_action boolean, after_cursor boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 'SELECT e.id, e.at, e.token_id, e.actor_role, e.actor_name, e.tenant_slug, e.action, e.target, e.result, e.request_id, e.count'
        || ' FROM public.audit_events e WHERE true'
        || CASE WHEN by_tenant THEN ' AND e.tenant_slug = $1' ELSE '' END
        || CASE WHEN by_action THEN ' AND e.action = $2' ELSE '' END
        || CASE WHEN after_cursor THEN ' AND e.id < $3' ELSE '' END
        || ' ORDER BY e.id DESC LIMIT $4'
$$;

DROP FUNCTION audit_events_page(text, text, bigint, bigint);
CREATE FUNCTION audit_events_page(for_tenant text, for_action text, before_id bigint, max_rows bigint)
RETURNS TABLE (
    id bigint, at timestamptz, token_id uuid, actor_role text, actor_name text, tenant_slug text,
    action text, target text, result text, request_id text, count integer
)
LANGUAGE plpgsql STABLE ROWS 50
SET search_path = pg_catalog, public, pg_temp
SET provisioner.all_tenants = 'on'
SET max_parallel_workers_per_gather = 0
AS $$
BEGIN
    RETURN QUERY EXECUTE public.audit_events_page_sql(for_tenant IS NOT NULL, for_action IS NOT NULL, before_id IS NOT NULL)
        USING for_tenant, for_action, before_id, max_rows;
END
$$;
REVOKE ALL ON FUNCTION audit_events_page(text, text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_events_page(text, text, bigint, bigint) TO provisioner_app;
