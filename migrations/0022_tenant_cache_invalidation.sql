-- Tenants' identities (id, slug, suspended) are read from memory on the hot paths
-- (CachingTenantStore): every change to them is said on the caches' channel, as 0010 does for
-- tokens and URI sets, so that other processes drop their entry milliseconds after the commit.
-- A suspension must not be served stale for longer than that.
--
-- The payload is `tenant:<id>`, which the URI-set cache already reads as "drop this tenant".
CREATE OR REPLACE FUNCTION notify_cache_invalidation() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'tokens' THEN
        PERFORM pg_notify('provisioner_cache', 'token:' || OLD.id);
    ELSIF TG_TABLE_NAME = 'tenants' THEN
        PERFORM pg_notify('provisioner_cache', 'tenant:' || OLD.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('provisioner_cache', 'tenant:' || OLD.tenant_id);
    ELSE
        PERFORM pg_notify('provisioner_cache', 'tenant:' || NEW.tenant_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_cache_invalidation_update AFTER UPDATE ON tenants
FOR EACH ROW WHEN (OLD.suspended IS DISTINCT FROM NEW.suspended OR OLD.slug IS DISTINCT FROM NEW.slug OR OLD.id IS DISTINCT FROM NEW.id)
EXECUTE FUNCTION notify_cache_invalidation();

CREATE TRIGGER tenants_cache_invalidation_delete AFTER DELETE ON tenants
FOR EACH ROW EXECUTE FUNCTION notify_cache_invalidation();
