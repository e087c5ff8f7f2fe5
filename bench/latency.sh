#!/usr/bin/env bash
# bench/latency.sh: upload-to-verdict latency at a steady rate, through the HTTP API of
# `provisioner run` (API and worker in one process).
#
#   bench/latency.sh [RATE] [SECONDS] [TENANTS]   uploads per second (default 50), for how
#                                                 long (default 20), over how many tenants (5)
#
# A fresh database in the test cluster (or DATABASE_URL), `provisioner migrate`, a support
# token, tenants and URI sets through the API, then clean client_secrets.json files POSTed to
# /v1/tenants/{slug}/credentials at RATE per second (bench/load.py, Python's standard library).
# Latency is taken from the database's own clock: verified_at - requested_at of each upload
# (requested_at is the upload transaction's time), so client polling adds nothing to it. The
# client also prints the 202 answer times. Ends with `RESULT name=value unit` lines
# (bench/run-all.sh gathers them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
RATE="${1:-50}"
SECONDS_="${2:-20}"
TENANTS="${3:-5}"
PORT="${BENCH_PORT:-18090}"
cd "$root"

if [ -z "${BIN_DIR:-}" ]; then
	swift build -c release --product provisioner >&2
	swift build -c release --product provisioner-bench >&2
	BIN_DIR="$(swift build -c release --show-bin-path)"
fi
PROVISIONER="$BIN_DIR/provisioner"
BENCH="$BIN_DIR/provisioner-bench"

dropdb=""
if [ -z "${DATABASE_URL:-}" ]; then
	server="$(bash scripts/dev-postgres.sh ensure .local/pg-test 54330 postgres --no-fsync 2>/dev/null)"
	name="bench_latency_$$"
	psql "$server" -X -q -c "CREATE DATABASE $name" >/dev/null
	DATABASE_URL="${server%/*}/$name"
	dropdb="$name"
fi
export DATABASE_URL
export PROVISIONER_ENCRYPTION_KEYS="${PROVISIONER_ENCRYPTION_KEYS:-bench:$(head -c 32 /dev/urandom | base64)}"
export PROVISIONER_MIGRATIONS_DIR="$root/migrations"
export PROVISIONER_PORT="$PORT"
export LOG_LEVEL="${LOG_LEVEL:-warning}"

server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	if [ -n "$dropdb" ]; then psql "${server}" -X -q -c "DROP DATABASE IF EXISTS $dropdb WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

"$PROVISIONER" migrate >/dev/null
tag="bench-latency-$$"
token="$("$PROVISIONER" token create --role support --name "$tag" | tail -n 1)"

"$PROVISIONER" run 2> >(grep -v ' info ' >&2) &
server_pid=$!
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "latency: provisioner run is not ready" >&2; exit 1; }

load="$(python3 "$here/load.py" --base "http://127.0.0.1:$PORT" --token "$token" --rate "$RATE" --seconds "$SECONDS_" --tenants "$TENANTS")"
printf '%s\n' "$load"
report="$("$BENCH" report --tag "$tag" --timeout 60)"
printf '%s\n' "$report"
# Machine-readable figures for bench/run-all.sh: RESULT name=value unit.
awk '/^upload answer \(202\) time:/ { sub(/,$/, "", $6); printf "RESULT latency_upload_p50=%s ms\nRESULT latency_upload_p99=%s ms\n", $6, $9 }
     /^request-to-verdict latency:/ { printf "RESULT latency_verdict_p50=%s ms\nRESULT latency_verdict_p99=%s ms\nRESULT latency_verdict_max=%s ms\n", $4, $7, $10 }' \
	<<<"$load"$'\n'"$report"
