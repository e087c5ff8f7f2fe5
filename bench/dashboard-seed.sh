#!/usr/bin/env bash
# bench/dashboard-seed.sh: fills a migrated, empty database with a dashboard-sized data set.
#
#   bench/dashboard-seed.sh DATABASE_URL [TENANTS] [CREDENTIALS_PER_TENANT] [AUDIT_EVENTS]
#       defaults: 100000 tenants, 12 uploads per tenant on average for the 85% that have any (about 1,000,000 credentials), 1,000,000 audit events
#
# DATABASE_URL is the migration owner's (the role `provisioner migrate` runs as). Set-based SQL
# (bench/dashboard-seed.sql), then VACUUM ANALYZE. A few minutes on two cores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
url="${1:?usage: dashboard-seed.sh DATABASE_URL [TENANTS] [PER_TENANT] [AUDIT_EVENTS]}"
tenants="${2:-100000}"
per_tenant="${3:-12}"
audit="${4:-1000000}"
start=$(date +%s)
psql "$url" -X -q -v tenants="$tenants" -v per_tenant="$per_tenant" -v audit="$audit" -f "$here/dashboard-seed.sql"
psql "$url" -X -At -c "SELECT 'seeded: ' || (SELECT count(*) FROM tenant_search) || ' tenants, '
    || (SELECT reltuples::bigint FROM pg_class WHERE relname = 'credentials') || ' credentials, '
    || (SELECT reltuples::bigint FROM pg_class WHERE relname = 'audit_events') || ' audit events in $(( $(date +%s) - start )) s'"
