-- The role every query of the service runs as.
--
-- NOLOGIN: nobody connects as it; the service's connections take it with SET ROLE
-- (the `role` start-up parameter). Roles are global to the cluster, so several databases
-- of one cluster (tests, or two replicas migrating at once) may race to create it:
-- the exception handlers make the race harmless.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'provisioner_app') THEN
        CREATE ROLE provisioner_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END
$$;

-- Let the role of DATABASE_URL take provisioner_app (a superuser could anyway).
DO $$
BEGIN
    EXECUTE format('GRANT provisioner_app TO %I', current_user);
EXCEPTION
    WHEN duplicate_object OR unique_violation OR internal_error THEN
        NULL;
END
$$;

-- Least privilege: the application may use the schema and create nothing in it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO provisioner_app;
GRANT SELECT ON schema_migrations TO provisioner_app;
