#!/usr/bin/env bash
# bench/client-latency.sh: upload to verdict as a client sees it, through `provisioner run`
# (API and worker in one process, release build).
#
#   bench/client-latency.sh [UPLOADS] [PAUSE_MS]   uploads one at a time (default 300), the
#                                                  worker idle for PAUSE_MS between them (50)
#
# A fresh database in the test cluster (or DATABASE_URL), `provisioner migrate`, a support
# token, then bench/client-latency.py (Python's standard library, one keep-alive connection):
# a tenant and its URI set through the API, then for each upload a POST of a clean
# client_secrets.json and GETs of the credential until its state is final. The figure is the
# client's own clock, from sending the POST to reading the answer with the verdict: the 202,
# the NOTIFY, the worker's claim, verdict and commit, and the GETs that find it.
# Ends with `RESULT name=value unit` lines (bench/run-all.sh gathers them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
UPLOADS="${1:-300}"
PAUSE_MS="${2:-50}"
PORT="${BENCH_PORT:-18091}"
cd "$bench_root"

bench_binaries provisioner
PROVISIONER="$BIN_DIR/provisioner"
bench_database bench_client_latency "${DATABASE_URL:-}"
export PROVISIONER_PORT="$PORT"

"$PROVISIONER" migrate >/dev/null
token="$("$PROVISIONER" token create --role support --name "bench-client-latency-$$" | tail -n 1)"

bench_serve run "$PORT"

out="$(python3 "$here/client-latency.py" --base "http://127.0.0.1:$PORT" --token "$token" --uploads "$UPLOADS" \
	--pause "$(awk -v ms="$PAUSE_MS" 'BEGIN { print ms / 1000 }')")"
printf '%s\n' "$out"
# Machine-readable figures for bench/run-all.sh: RESULT name=value unit.
awk '/^client upload-to-verdict:/ { sub(/,$/, "", $4); sub(/,$/, "", $7); printf "RESULT client_verdict_p50=%s ms\nRESULT client_verdict_p99=%s ms\n", $4, $7 }
     /^upload answer \(202\) time:/ { sub(/,$/, "", $6); printf "RESULT client_upload_p50=%s ms\n", $6 }' <<<"$out"
