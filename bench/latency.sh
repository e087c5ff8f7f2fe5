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
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
RATE="${1:-50}"
SECONDS_="${2:-20}"
TENANTS="${3:-5}"
PORT="${BENCH_PORT:-18090}"
cd "$bench_root"

bench_binaries provisioner provisioner-bench
PROVISIONER="$BIN_DIR/provisioner"
BENCH="$BIN_DIR/provisioner-bench"
bench_database bench_latency "${DATABASE_URL:-}"
export PROVISIONER_PORT="$PORT"

"$PROVISIONER" migrate >/dev/null
tag="bench-latency-$$"
token="$("$PROVISIONER" token create --role support --name "$tag" | tail -n 1)"

bench_serve run "$PORT"

load="$(python3 "$here/load.py" --base "http://127.0.0.1:$PORT" --token "$token" --rate "$RATE" --seconds "$SECONDS_" --tenants "$TENANTS")"
printf '%s\n' "$load"
report="$("$BENCH" report --tag "$tag" --timeout 60)"
printf '%s\n' "$report"
# Machine-readable figures for bench/run-all.sh: RESULT name=value unit.
awk '/^upload answer \(202\) time:/ { sub(/,$/, "", $6); printf "RESULT latency_upload_p50=%s ms\nRESULT latency_upload_p99=%s ms\n", $6, $9 }
     /^request-to-verdict latency:/ { printf "RESULT latency_verdict_p50=%s ms\nRESULT latency_verdict_p99=%s ms\nRESULT latency_verdict_max=%s ms\n", $4, $7, $10 }' \
	<<<"$load"$'\n'"$report"
