-- Dashboard list pages that read one page of rows, not every match (issue 7).
--
-- Tenant search. tenant_search_ids (0006) answered every match of a pattern: a search matching
-- 5% of 100,000 tenants handed 5,000 ids to the service's query, which read all 5,000 tenants
-- by primary key and sorted them for a page of 50 (about 30 ms). tenant_search now carries each
-- tenant's created_at, so tenant_search_page finds the page itself, newest first from a keyset
-- cursor, and the service reads only those tenants. tenant_search_ids stays for binaries
-- older than this migration.
--
-- Audit pages. Each page cost four round trips (BEGIN, the scope, the page, COMMIT) for a
-- query of a tenth of a millisecond. audit_events_page is the page in one statement: like
-- authenticate_token (0007), its SET clause gives it the all-tenant scope for the length of the
-- call only, so a query without context still sees no audit row.
--
-- Both run their query with EXECUTE ... USING, so each call is planned with its values
-- (a pattern's or an action's frequency decides between walking newest first and a bitmap of
-- the matches), as the service's own unnamed statements are. The text of those queries comes
-- from tenant_search_page_sql and audit_events_page_sql, which QueryPlanTests EXPLAINs.

-- tenant_search gets created_at. Its rows are rewritten in creation order, as the tenants
-- were inserted, so that walking tenant_search_newest reads the table in order (an UPDATE of
-- every row would scatter them). The migration owner is under FORCE ROW LEVEL SECURITY on
-- tenants: widen the scope for this transaction.
SELECT set_config('provisioner.all_tenants', 'on', true);
TRUNCATE tenant_search;
DROP INDEX tenant_search_slug;
DROP INDEX tenant_search_name;
ALTER TABLE tenant_search ADD COLUMN created_at timestamptz NOT NULL;
INSERT INTO tenant_search (tenant_id, slug, name_lower, created_at)
SELECT id, slug, lower(display_name), created_at FROM tenants ORDER BY created_at, id;
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
CREATE INDEX tenant_search_newest ON tenant_search (created_at DESC, tenant_id DESC);
ANALYZE tenant_search;

CREATE OR REPLACE FUNCTION tenant_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    INSERT INTO public.tenant_search (tenant_id, slug, name_lower, created_at)
    VALUES (NEW.id, NEW.slug, lower(NEW.display_name), NEW.created_at)
    ON CONFLICT (tenant_id) DO UPDATE
        SET slug = EXCLUDED.slug, name_lower = EXCLUDED.name_lower, created_at = EXCLUDED.created_at;
    RETURN NULL;
END
$$;
DROP TRIGGER tenant_search_sync ON tenants;
CREATE TRIGGER tenant_search_sync AFTER INSERT OR UPDATE OF slug, display_name, created_at ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenant_search_sync();

-- The query of tenant_search_page: $1 pattern, $2 state, $3 and $4 the cursor (created_at, id),
-- $5 the number of rows. With a state, the tenants are joined by primary key (state changes
-- with every verdict, so it is not copied here); the order is still tenant_search's, so a
-- common pattern walks tenant_search_newest and stops at a page.
CREATE FUNCTION tenant_search_page_sql(by_state boolean, after_cursor boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 'SELECT s.tenant_id FROM public.tenant_search s'
        || CASE WHEN by_state THEN ' JOIN public.tenants t ON t.id = s.tenant_id AND t.state = $2' ELSE '' END
        || ' WHERE (s.slug LIKE $1 OR s.name_lower LIKE $1) AND public.provisioner_may_see(s.tenant_id)'
        || CASE WHEN after_cursor THEN ' AND (s.created_at, s.tenant_id) < ($3, $4)' ELSE '' END
        || ' ORDER BY s.created_at DESC, s.tenant_id DESC LIMIT $5'
$$;
REVOKE ALL ON FUNCTION tenant_search_page_sql(boolean, boolean) FROM PUBLIC;

-- One page of the tenants, among those the caller's scope may see, whose slug or lower-case
-- display name is LIKE `pattern` (escape `\`) and, if `state` is given, in that state: newest
-- first, after the cursor (before_at, before_id) if given, at most max_rows ids. As its owner,
-- whose policy on tenant_search is `true`, the LIKE quals may use the trigram indexes.
-- No parallel workers: on the service's few cores they cost more than they save at this size.
CREATE FUNCTION tenant_search_page(pattern text, state text, before_at timestamptz, before_id uuid, max_rows bigint)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50
SET search_path = pg_catalog, public, pg_temp
SET max_parallel_workers_per_gather = 0
AS $$
BEGIN
    RETURN QUERY EXECUTE public.tenant_search_page_sql(state IS NOT NULL, before_at IS NOT NULL)
        USING pattern, state, before_at, before_id, max_rows;
END
$$;
REVOKE ALL ON FUNCTION tenant_search_page(text, text, timestamptz, uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_search_page(text, text, timestamptz, uuid, bigint) TO provisioner_app;

-- The query of audit_events_page: $1 tenant slug, $2 action, $3 the cursor (an id), $4 the
-- number of rows. Each filter given is an index condition (audit_events_tenant,
-- audit_events_action, audit_events_tenant_action, or the primary key newest first).
CREATE FUNCTION audit_events_page_sql(by_tenant boolean, by_action boolean, after_cursor boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 'SELECT e.id, e.at, e.token_id, e.actor_role, e.actor_name, e.tenant_slug, e.action, e.target, e.result, e.request_id'
        || ' FROM public.audit_events e WHERE true'
        || CASE WHEN by_tenant THEN ' AND e.tenant_slug = $1' ELSE '' END
        || CASE WHEN by_action THEN ' AND e.action = $2' ELSE '' END
        || CASE WHEN after_cursor THEN ' AND e.id < $3' ELSE '' END
        || ' ORDER BY e.id DESC LIMIT $4'
$$;
REVOKE ALL ON FUNCTION audit_events_page_sql(boolean, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_events_page_sql(boolean, boolean, boolean) TO provisioner_app;

-- One page of the audit log as the support desk and the dashboard read it (every tenant),
-- newest first, filtered by tenant slug and action when given, before the id `before_id` when
-- given, at most max_rows rows. SECURITY INVOKER: it reads as provisioner_app, through the
-- policy, with the scope of its SET clause.
CREATE FUNCTION audit_events_page(for_tenant text, for_action text, before_id bigint, max_rows bigint)
RETURNS TABLE (
    id bigint, at timestamptz, token_id uuid, actor_role text, actor_name text, tenant_slug text,
    action text, target text, result text, request_id text
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
