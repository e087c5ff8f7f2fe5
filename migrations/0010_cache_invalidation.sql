-- Tell the API's in-process caches what changed (CacheInvalidationListener): on the channel
-- provisioner_cache, 'token:<id>' when a token changes in a way that matters to
-- authentication (not a last_used_at touch), and 'tenant:<id>' when a tenant's URI sets
-- change. NOTIFY is sent at commit and deduplicated within a transaction.

CREATE FUNCTION notify_cache_invalidation() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'tokens' THEN
        PERFORM pg_notify('provisioner_cache', 'token:' || OLD.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('provisioner_cache', 'tenant:' || OLD.tenant_id);
    ELSE
        PERFORM pg_notify('provisioner_cache', 'tenant:' || NEW.tenant_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tokens_cache_invalidation_update AFTER UPDATE ON tokens
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.role IS DISTINCT FROM NEW.role OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.tenant_slug IS DISTINCT FROM NEW.tenant_slug
          OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
    EXECUTE FUNCTION notify_cache_invalidation();
CREATE TRIGGER tokens_cache_invalidation_delete AFTER DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION notify_cache_invalidation();

CREATE TRIGGER uri_sets_cache_invalidation AFTER INSERT OR UPDATE OR DELETE ON uri_sets
    FOR EACH ROW EXECUTE FUNCTION notify_cache_invalidation();
