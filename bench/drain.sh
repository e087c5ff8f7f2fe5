#!/usr/bin/env bash
# bench/drain.sh: how fast one `provisioner work` drains a backlog of uploads.
#
#   bench/drain.sh [N] [TENANTS]        N uploads (default 20000) over TENANTS tenants (default 1000)
#
# Prints figures, not a verdict. Steps:
#  1. a database: DATABASE_URL if set (migrated here; the seeded rows stay), else a fresh
#     database in the test cluster (.local/pg-test, 127.0.0.1:54330), dropped at the end;
#  2. `provisioner-bench seed --parked`: N clean uploads, each sealed for its own row, inserted
#     straight into PostgreSQL but not yet due;
#  3. `provisioner work` (release build, LOG_LEVEL=warning) started and listening;
#  4. `provisioner-bench release` makes them all due at once (one UPDATE, one NOTIFY), and
#     says when that committed;
#  5. `provisioner-bench report`: rate = verdicts / (last verified_at - the release's commit),
#     from the database's clock (the UPDATE that un-parks 20,000 rows takes a few hundred ms
#     during which the worker can see none of them: that time is the bench's, not the worker's;
#     until December 2026 it was counted); then SIGTERM and the time the worker took to stop.
# Binaries: $BIN_DIR, else `swift build -c release` (provisioner and provisioner-bench).
# Ends with `RESULT name=value unit` lines (bench/run-all.sh gathers them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
N="${1:-20000}"
TENANTS="${2:-1000}"
cd "$bench_root"

bench_binaries provisioner provisioner-bench
PROVISIONER="$BIN_DIR/provisioner"
BENCH="$BIN_DIR/provisioner-bench"
bench_database bench_drain "${DATABASE_URL:-}"

"$PROVISIONER" migrate >/dev/null
"$BENCH" seed --count "$N" --tenants "$TENANTS" --parked

"$PROVISIONER" work 2> >(grep -v ' info ' >&2) &
bench_pid=$!
for _ in $(seq 1 100); do
	listening="$(psql "$DATABASE_URL" -X -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")"
	[ "$listening" -ge 1 ] && break
	sleep 0.1
done
[ "$listening" -ge 1 ] || { echo "drain: the worker did not start listening" >&2; exit 1; }

released="$("$BENCH" release)"
printf '%s\n' "$released"
committed="$(sed -n 's/.*committed at \([^ ]*\)$/\1/p' <<<"$released")"
report="$("$BENCH" report --timeout 300 --from "$committed")"
printf '%s\n' "$report"
# Machine-readable figures for bench/run-all.sh: RESULT name=value unit.
awk '/^drain:/ { printf "RESULT drain_rate=%s verifications/s\n", $(NF - 1) }
     /^request-to-verdict latency:/ { printf "RESULT drain_verdict_p50=%s ms\nRESULT drain_verdict_p99=%s ms\n", $4, $7 }' <<<"$report"
start=$(date +%s.%N)
bench_stop
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "worker stopped %.2f s after SIGTERM\n", b - a; printf "RESULT drain_stop=%.2f s\n", b - a }'
