#!/usr/bin/env bash
# Fault test: webhook workers SIGKILLed mid-delivery; every event must still be delivered,
# at least once, with the same webhook-id on every copy.
#
#  1. A fresh database on the fault cluster (scripts/fault-lib.sh), `provisioner migrate`; a
#     receiver (`provisioner-bench webhook-receiver`) that answers 204 after FAULT_DELAY_MS
#     (default 200) and logs every webhook-id it is sent; one endpoint pointing at it; then
#     FAULT_EVENTS events (default 1000) over FAULT_TENANTS tenants (default 200).
#  2. KILLS times (3): `provisioner work` is started, and SIGKILLed 0-150 ms after it holds
#     leases (deliveries claimed by it and on their way: the receiver is answering slowly);
#     the leases it held stay behind. The killed workers' unexpired leases fill the endpoint's
#     share (PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY=32 here), so a later round may claim
#     nothing until they expire (25 s) and
#     then takes those over: the rescue path itself, with the attempt counted again.
#  3. `provisioner work` once more, which must deliver the rest and, once the killed workers'
#     leases expire (PROVISIONER_WEBHOOK_TIMEOUT=2 makes the lease 25 s), those too. Within
#     FAULT_DEADLINE seconds (default 150) every delivery must be 'succeeded'; every event
#     must have reached the receiver at least once; the receiver must have seen no webhook-id
#     that is not an event's (a duplicate is the same id again, never a new one).
# Loopback only; the workers, the receiver and the database are cleaned up on exit (trap).
set -euo pipefail

LOG_TAG=fault-webhook-kill
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/fault-lib.sh
. "$here/fault-lib.sh"
cd "$REPO_ROOT"

EVENTS="${FAULT_EVENTS:-1000}"
TENANTS="${FAULT_TENANTS:-200}"
DELAY_MS="${FAULT_DELAY_MS:-200}"
DEADLINE="${FAULT_DEADLINE:-150}"
RECEIVER_PORT="${FAULT_RECEIVER_PORT:-18094}"
KILLS=3
# The worker's /healthz and /metrics.
export PROVISIONER_HOST=127.0.0.1 PROVISIONER_PORT="${FAULT_WORKER_PORT:-18095}"
export PROVISIONER_WEBHOOK_ALLOW_HTTP=true PROVISIONER_WEBHOOK_ALLOW_PRIVATE=true PROVISIONER_WEBHOOK_TIMEOUT=2
export PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY=32
export PROVISIONER_WEBHOOK_RETRY_DELAYS=1s,1s,1s,1s,1s

trap fault_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fault_setup webhook-kill

received="$FAULT_DIR/received.txt"
"$BENCH" webhook-receiver --port "$RECEIVER_PORT" --delay-ms "$DELAY_MS" --log "$received" >"$FAULT_DIR/receiver.log" 2>&1 &
receiver_pid=$!
FAULT_PIDS=("$receiver_pid")
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count" >/dev/null || die "the receiver did not start (see $FAULT_DIR/receiver.log)"

"$BENCH" webhook-endpoint --url "http://127.0.0.1:$RECEIVER_PORT/hooks/fault" >"$FAULT_DIR/endpoint.txt" ||
	die "could not create the endpoint"
"$BENCH" webhook-events --count "$EVENTS" --tenants "$TENANTS" >"$FAULT_DIR/events.log" 2>&1 ||
	die "provisioner-bench webhook-events failed (see $FAULT_DIR/events.log)"
started=$SECONDS

orphaned_total=0
for round in $(seq 1 "$KILLS"); do
	"$PROVISIONER" work </dev/null >"$FAULT_DIR/worker-$round.log" 2>&1 &
	pid=$!
	FAULT_PIDS=("$receiver_pid" "$pid")
	held=0
	for _ in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || die "worker $round exited on its own (see $FAULT_DIR/worker-$round.log)"
		held="$(fault_sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND claimed_by LIKE '%:$pid:%'")"
		[ "$held" -gt 0 ] && break
		sleep 0.05
	done
	[ "$held" -gt 0 ] || die "worker $round claimed nothing within 30 s"
	sleep "0.$((RANDOM % 15))"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	FAULT_PIDS=("$receiver_pid")
	held="$(fault_sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND claimed_by LIKE '%:$pid:%'")"
	orphaned_total=$((orphaned_total + held))
	log "round $round: SIGKILL holding $held leases; $(fault_sql "SELECT status || '=' || count(*) FROM webhook_deliveries GROUP BY status ORDER BY 1" | tr '\n' ' ')"
done
[ "$orphaned_total" -gt 0 ] || die "the killed workers held no lease: nothing was tested"

log "restarting the worker; waiting up to ${DEADLINE}s for every delivery (leases expire after 25 s)"
"$PROVISIONER" work </dev/null >"$FAULT_DIR/worker-final.log" 2>&1 &
pid=$!
FAULT_PIDS=("$receiver_pid" "$pid")
deadline=$((SECONDS + DEADLINE))
while :; do
	pending="$(fault_sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")"
	[ "$pending" = 0 ] && break
	[ "$SECONDS" -lt "$deadline" ] || die "$pending deliveries still pending ${DEADLINE}s after the restart"
	kill -0 "$pid" 2>/dev/null || die "the final worker died (see $FAULT_DIR/worker-final.log)"
	sleep 0.5
done
elapsed=$((SECONDS - started))
sleep 0.5 # the receiver's log is written as each answer goes out

total="$(fault_sql "SELECT count(*) FROM webhook_deliveries")"
succeeded="$(fault_sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'")"
[ "$total" -eq "$EVENTS" ] || die "$total deliveries in the database, $EVENTS events recorded"
[ "$succeeded" -eq "$total" ] || die "only $succeeded of $total deliveries succeeded: $(fault_sql "SELECT status, last_error FROM webhook_deliveries WHERE status <> 'succeeded' LIMIT 3")"
fault_sql "SELECT event_id FROM webhook_deliveries ORDER BY 1" >"$FAULT_DIR/events.txt"
sort -u "$received" >"$FAULT_DIR/received-unique.txt"
never_received="$(comm -23 "$FAULT_DIR/events.txt" "$FAULT_DIR/received-unique.txt" | wc -l)"
unknown="$(comm -13 "$FAULT_DIR/events.txt" "$FAULT_DIR/received-unique.txt" | wc -l)"
copies="$(wc -l <"$received")"
duplicates=$((copies - $(wc -l <"$FAULT_DIR/received-unique.txt")))
[ "$never_received" -eq 0 ] || die "$never_received events never reached the receiver"
[ "$unknown" -eq 0 ] || die "the receiver saw $unknown webhook-ids that are no event's"
max_attempt="$(fault_sql "SELECT max(attempt) FROM webhook_deliveries")"
echo "RESULT fault_webhook_kill_orphaned_leases=$orphaned_total deliveries"
echo "RESULT fault_webhook_kill_duplicates=$duplicates deliveries"
echo "RESULT fault_webhook_kill_settle=$elapsed s"
log "passed: $KILLS SIGKILLs, $orphaned_total leases orphaned, all $EVENTS events delivered ($copies requests, $duplicates duplicates with their event's webhook-id, max attempt $max_attempt) in ${elapsed}s"
