-- bench/dashboard-seed.sql: a dashboard-sized data set, set-based (bench/dashboard-seed.sh runs it).
--   :tenants tenants, about :per_tenant credentials each, :audit audit events.
-- Run as the migration owner on a migrated, empty database. Every tenant's derived columns are
-- set as the service would have left them, so its state (trigger) is consistent.
\set ON_ERROR_STOP on
\timing off
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
SET work_mem = '64MB';
SELECT set_config('provisioner.all_tenants', 'on', false) \gset

BEGIN;
CREATE TEMP TABLE words AS
SELECT w, row_number() OVER () - 1 AS k
FROM unnest(ARRAY['acme','globex','initech','umbrella','stark','wayne','hooli','tyrell','soylent','cyberdyne',
                  'aperture','gringotts','monarch','nakatomi','oscorp','pied','piper','vandelay','wonka','yoyodyne',
                  'sakura','fuji','kaze','yama','hikari','midori','sora','umi','tsuki','hoshi',
                  'north','south','east','west','blue','green','red','gold','silver','iron']) AS w;

-- Tenants, created over the last two years; 2% suspended. Inserted oldest first, as a service
-- that has run for two years has appended them (the joins would otherwise hand them over in
-- hash order): tenant_search, which only renames ever change, keeps that order.
INSERT INTO tenants (id, slug, display_name, suspended, created_at, updated_at)
SELECT gen_random_uuid(),
       w1.w || '-' || i,
       initcap(w1.w) || ' ' || initcap(w2.w) || CASE WHEN i % 3 = 0 THEN ' 株式会社' ELSE ' Inc.' END,
       i % 50 = 0,
       now() - (i::double precision / :tenants) * interval '730 days',
       now() - (i::double precision / :tenants) * interval '730 days'
FROM generate_series(1, :tenants) AS i
JOIN words w1 ON w1.k = (i * 7) % 40
JOIN words w2 ON w2.k = (i * 13 + 5) % 40
ORDER BY i DESC;

-- A current URI set for 95% of them.
INSERT INTO uri_sets (tenant_id, version, host, javascript_origins, redirect_uris, issued_at, issued_by)
SELECT id, 1, slug || '.bench.example', ARRAY['https://' || slug || '.bench.example'],
       ARRAY['https://' || slug || '.bench.example/agcrm_google/AuthCallback/IndexAsync', 'https://myaccount.google.com/'],
       created_at + interval '1 hour', 'bench'
FROM tenants WHERE hashtext(slug) % 20 <> 0;
UPDATE tenants SET current_uri_set_version = 1 WHERE hashtext(slug) % 20 <> 0;

-- Credentials: tenants with a URI set get 0 to 2*:per_tenant uploads (mean :per_tenant), the
-- latest one mixed, older ones superseded or rejected. Times run up to now; uploads of the
-- last day are there for the 24-hour verdict counts.
CREATE TEMP TABLE plan AS
SELECT t.id AS tenant_id, t.created_at,
       CASE WHEN abs(hashtext(t.slug || 'n')) % 10 = 0 THEN 0
            ELSE 1 + abs(hashtext(t.slug || 'c')) % (2 * :per_tenant - 1) END AS uploads
FROM tenants t WHERE t.current_uri_set_version IS NOT NULL;

INSERT INTO credentials (id, tenant_id, state, uploaded_at, uploaded_by, sha256, client_type, client_id, project_id,
                         client_secret_hint, sealed_key_id, sealed_file, uri_set_version, verified_at, findings,
                         requested_at, attempts, next_attempt_at, lease_expires_at, claimed_by)
SELECT gen_random_uuid(), p.tenant_id, c.state, c.at, 'bench', md5(p.tenant_id::text || k) || md5(k || p.tenant_id::text),
       'web', (100000000000 + abs(hashtext(p.tenant_id::text || k)))::text || '-bench' || k || '.apps.googleusercontent.com',
       'bench-project', 'WXYZ', 'bench', '\x0001020304050607'::bytea,
       CASE WHEN c.state IN ('verified', 'rejected', 'superseded') THEN 1 END,
       CASE WHEN c.state IN ('verified', 'rejected', 'superseded') THEN c.at + interval '3 seconds' END,
       CASE WHEN c.state = 'rejected' THEN '[{"code":"redirect_uri_missing","severity":"error"}]'::jsonb ELSE '[]'::jsonb END,
       c.at, CASE WHEN c.state = 'pending' THEN 0 ELSE 1 END, c.at,
       CASE WHEN c.state = 'verifying' THEN now() + interval '30 seconds' END,
       CASE WHEN c.state = 'verifying' THEN 'bench-worker' END
FROM plan p
CROSS JOIN LATERAL generate_series(1, p.uploads) AS k
CROSS JOIN LATERAL (
    SELECT
        -- upload k of n, at a random time of the k-th n-th between the tenant's creation and now
        p.created_at + (now() - p.created_at) * ((k - 1 + (abs(hashtext(p.tenant_id::text || k || 't')) % 1000) / 1000.0) / p.uploads) AS at,
        CASE
            WHEN k < p.uploads THEN CASE WHEN abs(hashtext(p.tenant_id::text || k)) % 4 = 0 THEN 'rejected' ELSE 'superseded' END
            ELSE CASE abs(hashtext(p.tenant_id::text || 'L')) % 100
                WHEN 0 THEN 'pending' WHEN 1 THEN 'pending' WHEN 2 THEN 'verifying'
                ELSE CASE WHEN abs(hashtext(p.tenant_id::text || 'R')) % 100 < 18 THEN 'rejected' ELSE 'verified' END
            END
        END AS state
) c;

-- Older verified uploads of tenants whose latest is not verified stay verified (the active one).
WITH latest AS (
    SELECT DISTINCT ON (tenant_id) tenant_id, id, state, uploaded_at
    FROM credentials ORDER BY tenant_id, uploaded_at DESC, id DESC
), active AS (
    SELECT DISTINCT ON (c.tenant_id) c.tenant_id, c.id
    FROM credentials c JOIN latest l ON l.tenant_id = c.tenant_id
    WHERE l.state <> 'verified' AND c.state = 'superseded' AND c.id <> l.id
    ORDER BY c.tenant_id, c.uploaded_at DESC, c.id DESC
)
UPDATE credentials c SET state = 'verified' FROM active a WHERE c.id = a.id AND c.tenant_id = a.tenant_id;

WITH latest AS (
    SELECT DISTINCT ON (tenant_id) tenant_id, id, state, uploaded_at
    FROM credentials ORDER BY tenant_id, uploaded_at DESC, id DESC
), active AS (
    SELECT tenant_id, id FROM credentials WHERE state = 'verified'
)
UPDATE tenants t
SET latest_credential_id = l.id, latest_credential_state = l.state, latest_credential_uploaded_at = l.uploaded_at,
    active_credential_id = a.id, updated_at = greatest(t.updated_at, l.uploaded_at)
FROM latest l LEFT JOIN active a ON a.tenant_id = l.tenant_id
WHERE t.id = l.tenant_id;
COMMIT;

-- Audit events: what the API writes, over the tenants, newest last.
CREATE TEMP TABLE tenants_by_n AS SELECT row_number() OVER (ORDER BY created_at, id) AS n, id, slug FROM tenants;
ANALYZE tenants_by_n;
INSERT INTO audit_events (at, token_id, actor_role, actor_name, tenant_id, tenant_slug, action, target, result, request_id, source_address)
SELECT now() - ((:audit - i)::double precision / :audit) * interval '365 days',
       NULL, (ARRAY['support', 'tenant_admin', 'dashboard', 'runtime'])[1 + i % 4], 'bench',
       t.id, t.slug,
       (ARRAY['tenant.create', 'uri_set.issue', 'credential.upload', 'credential.verify', 'credential.read_secret',
              'calendar_settings.update', 'tenant.update', 'token.create'])[1 + (i * 7) % 8],
       NULL, CASE WHEN i % 97 = 0 THEN 'forbidden' ELSE 'success' END, md5(i::text), '127.0.0.1'
FROM generate_series(1, :audit) AS i
JOIN tenants_by_n t ON t.n = 1 + (i::bigint * 7919) % :tenants;

VACUUM (ANALYZE) tenants;
VACUUM (ANALYZE) credentials;
VACUUM (ANALYZE) audit_events;
VACUUM (ANALYZE) uri_sets;
VACUUM (ANALYZE) tenant_search;
VACUUM (ANALYZE) tenant_state_counts;

