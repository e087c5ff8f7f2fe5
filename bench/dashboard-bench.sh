#!/usr/bin/env bash
# bench/dashboard-bench.sh: the dashboard's reads and the hot read, against a seeded database.
#
#   bench/dashboard-bench.sh [DATABASE_URL]
#
# Without DATABASE_URL: a fresh database in the test cluster (.local/pg-test, port 54330),
# `provisioner migrate`, bench/dashboard-seed.sh (100,000 tenants, about 1,000,000 credentials,
# 1,000,000 audit events), and the database is dropped at the end. With DATABASE_URL (the
# owner's, already migrated and seeded): used as it is.
#
# Then `provisioner serve` on 127.0.0.1:$BENCH_PORT (default 18091), a support token and a
# tenant_admin token, and:
#   1. p50/p99 of the summary, tenant pages and audit pages, first pages and (for the search
#      and the unfiltered audit log) the second page through its cursor (bench/dashboard-load.py,
#      4 connections, BENCH_REQUESTS per path, default 1000);
#   2. wrk, 64 connections, BENCH_WRK_SECONDS (default 10) each, on
#      /v1/tenants/{slug}/uri-sets/current (tenant_admin) and on /healthz, the server's RSS
#      (VmRSS) sampled under load.
# Targets: summary p99 < 50 ms, list pages p99 < 20 ms, uri-sets/current >= half the rate of
# /healthz, RSS < 150 MiB.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
PORT="${BENCH_PORT:-18091}"
REQUESTS="${BENCH_REQUESTS:-1000}"
WRK_SECONDS="${BENCH_WRK_SECONDS:-10}"
cd "$bench_root"

bench_binaries provisioner
PROVISIONER="$BIN_DIR/provisioner"
bench_database bench_dashboard "${1:-}"
export PROVISIONER_PORT="$PORT"

if [ "$bench_fresh_database" = 1 ]; then
	"$PROVISIONER" migrate >/dev/null
	bash "$here/dashboard-seed.sh" "$DATABASE_URL" >&2
fi

# A tenant with a current URI set, and one of its audit events' slug.
slug="$(psql "$DATABASE_URL" -X -At <<'SQL'
SELECT set_config('provisioner.all_tenants', 'on', false) \g /dev/null
SELECT t.slug FROM tenants t JOIN uri_sets u ON u.tenant_id = t.id AND u.superseded_at IS NULL ORDER BY t.created_at DESC LIMIT 1 OFFSET 500;
SQL
)"
support="$("$PROVISIONER" token create --role support --name bench | tail -n 1)"
admin="$("$PROVISIONER" token create --role tenant_admin --tenant "$slug" --name bench-admin | tail -n 1)"

bench_serve serve "$PORT"

# The next_cursor of a page, for the benches of second pages (keyset cursors).
next_cursor() {
	curl -fsS -H "Authorization: Bearer $support" "http://127.0.0.1:$PORT$1" \
		| python3 -c 'import json, sys, urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["next_cursor"], safe=""))'
}
search_cursor="$(next_cursor "/v1/tenants?q=acme")"
audit_cursor="$(next_cursor "/v1/audit-events?limit=50")"

echo "== latency ($REQUESTS requests per path, 4 connections; tenant $slug)"
python3 "$here/dashboard-load.py" --base "http://127.0.0.1:$PORT" --token "$support" --requests "$REQUESTS" --concurrency 4 \
	"/v1/dashboard/summary" \
	"/v1/tenants?state=verified&limit=50" \
	"/v1/tenants?q=acme" \
	"/v1/tenants?q=acme&cursor=$search_cursor" \
	"/v1/tenants?q=acme&state=verified&limit=50" \
	"/v1/tenants?limit=50" \
	"/v1/audit-events?tenant=$slug&limit=50" \
	"/v1/audit-events?limit=50" \
	"/v1/audit-events?limit=50&cursor=$audit_cursor" \
	"/v1/audit-events?action=credential.upload&limit=50"

rss_under_load() { # samples VmRSS while wrk runs; prints the peak in MiB
	local peak=0 kb
	while kill -0 "$1" 2>/dev/null; do
		kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$bench_pid/status" 2>/dev/null || echo 0)"
		[ "${kb:-0}" -gt "$peak" ] && peak="$kb"
		sleep 0.2
	done
	echo $((peak / 1024))
}

if command -v wrk >/dev/null; then
	for target in "/v1/tenants/$slug/uri-sets/current|$admin" "/healthz|"; do
		path="${target%%|*}"
		token="${target#*|}"
		echo "== wrk -t2 -c64 -d${WRK_SECONDS}s $path"
		if [ -n "$token" ]; then
			wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT$path" >"/tmp/dashboard-wrk-$$.txt" &
		else
			wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$PORT$path" >"/tmp/dashboard-wrk-$$.txt" &
		fi
		wrk_pid=$!
		peak="$(rss_under_load "$wrk_pid")"
		wait "$wrk_pid" || true
		grep -E "Requests/sec|99%|Non-2xx|Socket errors" "/tmp/dashboard-wrk-$$.txt" | sed 's/^/   /'
		echo "   server VmRSS peak under load: ${peak} MiB"
		rm -f "/tmp/dashboard-wrk-$$.txt"
	done
else
	echo "wrk is not installed (apt-get install wrk): hot-read bench skipped" >&2
fi
