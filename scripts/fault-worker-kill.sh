#!/usr/bin/env bash
# Fault test: a worker SIGKILLed mid-drain, three times, then restarted; every upload
# must still reach a verdict.
#
#  1. A fresh database on the fault cluster (scripts/fault-lib.sh), `provisioner migrate`,
#     `provisioner-bench seed --count FAULT_UPLOADS` (default 10000) clean uploads over
#     FAULT_TENANTS tenants (default 500), all due at once.
#  2. Three times: `provisioner work` is started, and SIGKILLed 0-40 ms after it has
#     claimed its first batch (rows in `verifying`); the leases it held stay behind. (A
#     worker drains about 10,000 uploads a second: a longer wait would leave the later
#     rounds nothing to hold.)
#  3. `provisioner work` once more, which must drain the rest and, once the leases expire
#     (30 s, WorkerConfiguration.lease: the executable cannot shorten it), rescue what the
#     killed workers held. Within FAULT_DEADLINE seconds (default 150) no upload may be
#     `pending` or `verifying`, and, the seeded files being clean, none `rejected`.
# Loopback only; the worker and the database it used are cleaned up on exit (trap).
set -euo pipefail

LOG_TAG=fault-worker-kill
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/fault-lib.sh
. "$here/fault-lib.sh"
cd "$REPO_ROOT"

UPLOADS="${FAULT_UPLOADS:-10000}"
TENANTS="${FAULT_TENANTS:-500}"
DEADLINE="${FAULT_DEADLINE:-150}"
KILLS=3
# The worker's /healthz and /metrics.
export PROVISIONER_HOST=127.0.0.1 PROVISIONER_PORT="${FAULT_WORKER_PORT:-18093}"

trap fault_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fault_setup worker-kill

log "seeding $UPLOADS uploads over $TENANTS tenants"
"$BENCH" seed --count "$UPLOADS" --tenants "$TENANTS" >"$FAULT_DIR/seed.log" 2>&1 ||
	die "provisioner-bench seed failed (see $FAULT_DIR/seed.log)"
started=$SECONDS

orphaned_total=0
for round in $(seq 1 "$KILLS"); do
	"$PROVISIONER" work </dev/null >"$FAULT_DIR/worker-$round.log" 2>&1 &
	pid=$!
	FAULT_PIDS=("$pid")
	# Until it holds a batch (claimed_by is host:pid:random) (or it drained everything already, which would void the test).
	claimed=0
	for _ in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || die "worker $round exited on its own (see $FAULT_DIR/worker-$round.log)"
		claimed="$(fault_sql "SELECT count(*) FROM credentials WHERE state = 'verifying' AND claimed_by LIKE '%:$pid:%'")"
		[ "$claimed" -gt 0 ] && break
		sleep 0.05
	done
	[ "$claimed" -gt 0 ] || die "worker $round claimed nothing within 30 s ($(fault_states))"
	sleep "0.0$((RANDOM % 5))"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	FAULT_PIDS=()
	held="$(fault_sql "SELECT count(*) FROM credentials WHERE state = 'verifying' AND claimed_by LIKE '%:$pid:%'")"
	orphaned_total=$((orphaned_total + held))
	log "round $round: SIGKILL holding $held leases; $(fault_states)"
done
pending="$(fault_sql "SELECT count(*) FROM credentials WHERE state = 'pending'")"
[ "$pending" -gt 0 ] || [ "$orphaned_total" -gt 0 ] ||
	die "the killed workers left nothing to recover: seed more uploads (FAULT_UPLOADS)"

log "restarting the worker; waiting up to ${DEADLINE}s for every verdict (leases expire after 30 s)"
"$PROVISIONER" work </dev/null >"$FAULT_DIR/worker-final.log" 2>&1 &
pid=$!
FAULT_PIDS=("$pid")
fault_wait_settled "$DEADLINE" || die "uploads left without a verdict ${DEADLINE}s after the restart"
kill -0 "$pid" 2>/dev/null || die "the final worker died (see $FAULT_DIR/worker-final.log)"
elapsed=$((SECONDS - started))

states="$(fault_states)"
total="$(fault_sql "SELECT count(*) FROM credentials")"
rejected="$(fault_sql "SELECT count(*) FROM credentials WHERE state = 'rejected'")"
max_attempts="$(fault_sql "SELECT max(attempts) FROM credentials")"
rescued="$(grep -c 'requeued verifications whose lease expired' "$FAULT_DIR/worker-final.log" || true)"
log "settled after ${elapsed}s: $states (max attempts $max_attempts, rescue passes $rescued)"
[ "$total" -eq "$UPLOADS" ] || die "$total uploads in the database, $UPLOADS seeded"
[ "$rejected" -eq 0 ] || die "$rejected clean uploads were rejected: $(fault_sql "SELECT DISTINCT findings::text FROM credentials WHERE state = 'rejected' LIMIT 3")"
echo "RESULT fault_worker_kill_orphaned_leases=$orphaned_total uploads"
echo "RESULT fault_worker_kill_settle=$elapsed s"
log "passed: $KILLS SIGKILLs, $orphaned_total leases orphaned, all $UPLOADS uploads verified (or superseded)"
