#!/usr/bin/env bash
# bench/webhooks.sh: how fast one `provisioner work` delivers webhooks, and how soon an idle one
# delivers an event.
#
#   bench/webhooks.sh [N] [TENANTS] [LATENCY_EVENTS]   N events (default 10000) over TENANTS tenants
#                                                      (default 2000); LATENCY_EVENTS (default 200)
#
# Prints figures, not a verdict. Steps:
#  1. a database: DATABASE_URL if set (migrated here; the rows stay), else a fresh database in
#     the test cluster (.local/pg-test, 127.0.0.1:54330), dropped at the end;
#  2. `provisioner-bench webhook-receiver` on 127.0.0.1:BENCH_RECEIVER_PORT (default 18096):
#     Hummingbird, answering 204 at once, so that the receiver is not what is measured; one
#     endpoint pointing at it;
#  3. backlog: N uri_set.issued events recorded through the triggers' fan-out function, the
#     table analyzed, then `provisioner work` (release build) started; rate = deliveries /
#     (last attempt - first attempt), from the rows' own timestamps; a tenant's events go out in order, one at a time,
#     and an endpoint has at most 128 requests open (the production defaults;
#     PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY=N measures another share);
#     BENCH_WEBHOOK_ENDPOINTS=K (default 1): K endpoints, so K deliveries an event; the CPU each
#     process spent per delivery over the drain (the worker, this database's backends, the receiver);
#  4. idle: the deliveries deleted (and vacuumed), then LATENCY_EVENTS events one at a time, each recorded only
#     once the previous one was delivered and 20 ms later; event-to-delivery = attempted_at (the
#     worker's clock, after the 2xx) - occurred_at (the event's transaction), p50 and p99.
# Measured on the 2-core machine (7 December 2026, evening, release build, receiver and PostgreSQL
# on the same cores): one endpoint 5,550-6,800 deliveries/s in twenty runs, 4,450-5,800 in four runs
# while the machine was busy (the afternoon's code 3,950-4,800 alternating with them); 8 endpoints
# 5,100-6,600/s. CPU per delivery: the worker 119-151 us, PostgreSQL 68-88 us, the receiver
# 56-70 us; bounded by the 2 cores. Before the claim and the recording were functions planned
# once per connection (0023, 0024) and an attempt set a timer only for a body: 5,250-5,700 in a
# quiet hour, 3,950-5,450 on a busier machine, the worker 167-231 us a delivery. Before the claim
# took the open endpoints and the scan's LIMIT as values read first (a subquery LIMIT the planner
# could not see, the leases counted twice) and before the backlog was analyzed: 1,100-1,400/s
# and 1,500-2,800/s. Idle event-to-delivery p50 4.0-5.5 ms, p99 6-9 ms.
# Binaries: $BIN_DIR, else `swift build -c release` (provisioner and provisioner-bench).
# Ends with `RESULT name=value unit` lines (bench/run-all.sh gathers them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
N="${1:-10000}"
TENANTS="${2:-2000}"
LATENCY_EVENTS="${3:-200}"
RECEIVER_PORT="${BENCH_RECEIVER_PORT:-18096}"
# Endpoints (all on the receiver): each event is one delivery per endpoint.
ENDPOINTS="${BENCH_WEBHOOK_ENDPOINTS:-1}"
cd "$bench_root"

bench_binaries provisioner provisioner-bench
PROVISIONER="$BIN_DIR/provisioner"
BENCH="$BIN_DIR/provisioner-bench"
bench_database bench_webhooks "${DATABASE_URL:-}"
export PROVISIONER_WEBHOOK_ALLOW_HTTP=true PROVISIONER_WEBHOOK_ALLOW_PRIVATE=true
export PROVISIONER_HOST=127.0.0.1 PROVISIONER_PORT="${BENCH_WORKER_PORT:-18097}"

receiver_pid=""
trap '[ -z "$receiver_pid" ] || stop_process "$receiver_pid"; bench_cleanup' EXIT
"$BENCH" webhook-receiver --port "$RECEIVER_PORT" &
receiver_pid=$!
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count" >/dev/null 2>&1 && break
	sleep 0.1
done

"$PROVISIONER" migrate >/dev/null
for endpoint in $(seq 1 "$ENDPOINTS"); do
	"$BENCH" webhook-endpoint --url "http://127.0.0.1:$RECEIVER_PORT/hooks/bench-$endpoint" >/dev/null
done
"$BENCH" webhook-events --count "$N" --tenants "$TENANTS"
# Analyzed, as autovacuum does within its naptime (a minute) on a live database: in this fresh
# database the table was never analyzed, and before that the planner takes the endpoint filter
# to be very selective and sorts the whole backlog for each claim (230-330 ms a claim over
# 80,000 pending, against 3 ms): runs that drew that plan measured a third of the rate.
psql "$DATABASE_URL" -X -q -c "ANALYZE webhook_deliveries" >/dev/null

# CPU per delivery of each process over the drain, from its own counters in /proc (user and
# system clock ticks, 1/100 s): the worker, this database's PostgreSQL backends (those alive at
# both reads) and the receiver. Steadier than the rate, which the machine's load moves.
cpu_ticks() {
	local total=0 pid fields
	for pid in "$@"; do
		[ -r "/proc/$pid/stat" ] || continue
		read -r -a fields <"/proc/$pid/stat"
		total=$((total + fields[13] + fields[14]))
	done
	echo "$total"
}
database_backends() { pgrep -f "^postgres: .* ${DATABASE_URL##*/} " || true; }
# shellcheck disable=SC2046 # one pid per word
postgres_before=$(cpu_ticks $(database_backends))
receiver_before=$(cpu_ticks "$receiver_pid")
"$PROVISIONER" work 2> >(grep -v ' info ' >&2) &
bench_pid=$!
report="$("$BENCH" webhook-report --timeout 300)"
# shellcheck disable=SC2046
postgres_ticks=$(($(cpu_ticks $(database_backends)) - postgres_before))
worker_ticks=$(cpu_ticks "$bench_pid")
receiver_ticks=$(($(cpu_ticks "$receiver_pid") - receiver_before))
deliveries=$((N * ENDPOINTS))
printf 'backlog: %s\n' "$report"
printf 'CPU per delivery: worker %s us, PostgreSQL %s us, receiver %s us\n' \
	$((worker_ticks * 10000 / deliveries)) $((postgres_ticks * 10000 / deliveries)) $((receiver_ticks * 10000 / deliveries))
awk -v e="$ENDPOINTS" '/^drain:/ { printf "RESULT webhooks_rate_%s_endpoints=%s deliveries/s\n", e, $(NF - 1) }' <<<"$report"

# Deleted and vacuumed: the idle claims must not walk the backlog's dead index entries.
psql "$DATABASE_URL" -X -q -c "DELETE FROM webhook_deliveries" -c "VACUUM ANALYZE webhook_deliveries" >/dev/null
"$BENCH" webhook-events --count "$LATENCY_EVENTS" --tenants 50 --one-by-one
report="$("$BENCH" webhook-report --timeout 60)"
printf 'idle: %s\n' "$report"
awk '/^event-to-delivery latency:/ { printf "RESULT webhooks_idle_p50=%s ms\nRESULT webhooks_idle_p99=%s ms\n", $4, $7 }' <<<"$report"
printf 'receiver: %s requests\n' "$(curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count")"
