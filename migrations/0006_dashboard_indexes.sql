-- The dashboard's reads answered from indexes, under row-level security.
--
-- Row-level security and indexes. The policies' qual (provisioner_may_see) runs before any
-- qual of the query that is not LEAKPROOF, and only LEAKPROOF quals may become index
-- conditions below it. Equality and ordering of text, uuid, bigint and timestamptz are
-- LEAKPROOF, so `state = $1`, `tenant_slug = $1`, `action = $1` and the keyset comparisons use
-- the indexes of 0002 and 0004 as provisioner_app. LIKE (textlike) is not LEAKPROOF, and only a
-- superuser can change that, so a trigram index on `tenants` itself would never be used by the
-- service. The search keys therefore live in `tenant_search`, read through
-- tenant_search_ids(pattern), a SECURITY DEFINER function that applies provisioner_may_see
-- itself; the service then reads `tenants` by primary key (uuid equality is LEAKPROOF).
--
-- The tenant count per state is kept in `tenant_state_counts` by statement-level triggers,
-- so the summary does not count 100,000 rows through the policy. The triggers only INSERT
-- delta rows (state, n) and now and then fold them (DELETE ... FOR UPDATE SKIP LOCKED plus one
-- INSERT of the sums), so no writer ever waits for another one's counter row: a row-per-state
-- `UPDATE ... SET n = n + 1` would make every verdict transaction hold the `verifying` row to
-- its commit, and two workers completing batches that move tenants between states in
-- different orders would deadlock. The table holds no tenant's data: no RLS, SELECT only.

-- The planner's estimate of the policies' qual. As `a = 'on' OR tenant = b` it was taken to keep
-- 0.5% of the rows, so that a newest-first page of a common state (LIMIT 51 of thousands) was
-- planned as a sequential scan and a sort of the whole table. The same test written as a CASE
-- is estimated at one half, and newest-first pages walk their index. Same meaning, still
-- inlined (one SQL expression, STABLE, no SET).
CREATE OR REPLACE FUNCTION provisioner_may_see(tenant uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN coalesce(current_setting('provisioner.all_tenants', true), '') = 'on' THEN true
                ELSE tenant = nullif(current_setting('provisioner.tenant_id', true), '')::uuid END
$$;

-- pg_trgm is trusted (PG 13+): a database owner may create it. It may already exist, in
-- whatever schema; the operator class is looked up where it is.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Search keys of every tenant: its slug and its display name in lower case.
CREATE TABLE tenant_search (
    tenant_id uuid PRIMARY KEY,
    slug text NOT NULL,
    name_lower text NOT NULL
);
REVOKE ALL ON tenant_search FROM PUBLIC;
-- Tenant data: behind row-level security like every such table. provisioner_app sees what its
-- scope allows (it has no reason to read the table itself). The owner, the only one that reads
-- it on the service's behalf (tenant_search_ids), gets a policy of `true` and applies
-- provisioner_may_see in the function instead: a policy qual of `true` is no qual at all, so
-- the LIKE quals stay free to become trigram index conditions.
ALTER TABLE tenant_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_search FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_search_isolation ON tenant_search TO provisioner_app USING (provisioner_may_see(tenant_id));
DO $$
BEGIN
    EXECUTE format('CREATE POLICY tenant_search_definer ON tenant_search TO %I USING (true)', current_user);
END
$$;
GRANT SELECT ON tenant_search TO provisioner_app;

DO $$
DECLARE
    trgm_schema name;
BEGIN
    SELECT n.nspname INTO trgm_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX tenant_search_slug ON tenant_search USING gin (slug %I.gin_trgm_ops)', trgm_schema);
    EXECUTE format('CREATE INDEX tenant_search_name ON tenant_search USING gin (name_lower %I.gin_trgm_ops)', trgm_schema);
END
$$;

CREATE FUNCTION tenant_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    INSERT INTO public.tenant_search (tenant_id, slug, name_lower)
    VALUES (NEW.id, NEW.slug, lower(NEW.display_name))
    ON CONFLICT (tenant_id) DO UPDATE SET slug = EXCLUDED.slug, name_lower = EXCLUDED.name_lower;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION tenant_search_sync() FROM PUBLIC;
CREATE TRIGGER tenant_search_sync AFTER INSERT OR UPDATE OF slug, display_name ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenant_search_sync();

-- The ids of the tenants whose slug or lower-case display name is LIKE `pattern` (escape `\`),
-- among those the caller's scope may see.
CREATE FUNCTION tenant_search_ids(pattern text) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE ROWS 200
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT s.tenant_id FROM public.tenant_search s
    WHERE (s.slug LIKE pattern OR s.name_lower LIKE pattern)
      AND public.provisioner_may_see(s.tenant_id)
$$;
REVOKE ALL ON FUNCTION tenant_search_ids(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_search_ids(text) TO provisioner_app;

-- Tenants per state: the sum of n by state.
CREATE TABLE tenant_state_counts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state text NOT NULL,
    n bigint NOT NULL
);
REVOKE ALL ON tenant_state_counts FROM PUBLIC;
GRANT SELECT ON tenant_state_counts TO provisioner_app;

-- Records one statement's changes of tenants' states, then folds the deltas when they pile up.
CREATE FUNCTION tenant_state_counts_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.tenant_state_counts (state, n)
        SELECT state, count(*) FROM new_rows GROUP BY state;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO public.tenant_state_counts (state, n)
        SELECT state, sum(delta) FROM (
            SELECT state, 1 AS delta FROM new_rows
            UNION ALL
            SELECT state, -1 FROM old_rows
        ) d
        GROUP BY state HAVING sum(delta) <> 0;
    ELSE
        INSERT INTO public.tenant_state_counts (state, n)
        SELECT state, -count(*) FROM old_rows GROUP BY state;
    END IF;
    IF (SELECT count(*) FROM (SELECT 1 FROM public.tenant_state_counts LIMIT 65) c) > 64 THEN
        -- Only rows nobody else is folding right now; never waits.
        WITH folded AS (
            DELETE FROM public.tenant_state_counts
            WHERE id IN (SELECT id FROM public.tenant_state_counts FOR UPDATE SKIP LOCKED)
            RETURNING state, n
        )
        INSERT INTO public.tenant_state_counts (state, n)
        SELECT state, sum(n) FROM folded GROUP BY state;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION tenant_state_counts_apply() FROM PUBLIC;
CREATE TRIGGER tenant_state_counts_insert AFTER INSERT ON tenants
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_state_counts_apply();
CREATE TRIGGER tenant_state_counts_update AFTER UPDATE ON tenants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_state_counts_apply();
CREATE TRIGGER tenant_state_counts_delete AFTER DELETE ON tenants
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_state_counts_apply();

-- Existing tenants (the migration owner is under FORCE ROW LEVEL SECURITY too: widen the
-- scope for this transaction).
SELECT set_config('provisioner.all_tenants', 'on', true);
INSERT INTO tenant_search (tenant_id, slug, name_lower) SELECT id, slug, lower(display_name) FROM tenants;
INSERT INTO tenant_state_counts (state, n) SELECT state, count(*) FROM tenants GROUP BY state;

-- The audit log filtered by tenant and action at once.
CREATE INDEX audit_events_tenant_action ON audit_events (tenant_slug, action, id DESC);

-- The summary's credential figures as index-only scans: the policy's qual needs tenant_id, which
-- the indexes of 0004 lack, so every counted row cost a heap fetch scattered over the table
-- (half a second cold at a million credentials). The same indexes with tenant_id included
-- replace them.
CREATE INDEX credentials_waiting_covering ON credentials (requested_at) INCLUDE (tenant_id)
    WHERE state IN ('pending', 'verifying');
DROP INDEX credentials_queue_waiting;
CREATE INDEX credentials_verdicts_covering ON credentials (verified_at, state) INCLUDE (tenant_id)
    WHERE verified_at IS NOT NULL;
DROP INDEX credentials_verdict_time;
