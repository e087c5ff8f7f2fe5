#!/usr/bin/env bash
# bench/queue-cost.sh: PostgreSQL's own time per upload for the queue's two statements, the
# claim and the verdict, each run alone.
#
#   bench/queue-cost.sh [N] [TENANTS] [BATCH]   N uploads (default 20000) over TENANTS tenants
#                                               (default 1000), claimed BATCH at a time (4000)
#
# bench/drain.sh measures the worker, and its figure moves by up to 20% from one run to the
# next on the 2-core machine. This one measures what bounds it: the drain is PostgreSQL's CPU
# (the claims and verdicts of several batches overlap on both cores; the worker's own share is
# about a tenth). Statements one at a time, from psql, as the worker calls them (in the
# application role, `claim_verifications` and `complete_verifications` with the same
# arguments, the verdicts of a batch split into lanes by tenant as the worker splits it), on the
# same seeded uploads as bench/drain.sh (`provisioner-bench seed --parked`, then `release`).
# Every verdict is `verified` with no findings, as for the seeded clean files; no Swift
# verification runs.
#
# Prints each batch's times, then the time per upload of the claim and of the verdict, and the
# rate their sum allows if every core of this machine ran them with nothing else to do: an
# upper bound for bench/drain.sh, not a figure it can reach.
# Ends with `RESULT name=value unit` lines (bench/run-all.sh gathers them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
N="${1:-20000}"
TENANTS="${2:-1000}"
BATCH="${3:-4000}"
cd "$bench_root"

bench_binaries provisioner provisioner-bench
bench_database bench_queue_cost "${DATABASE_URL:-}"
"$BIN_DIR/provisioner" migrate >/dev/null
"$BIN_DIR/provisioner-bench" seed --count "$N" --tenants "$TENANTS" --parked >/dev/null
"$BIN_DIR/provisioner-bench" release >/dev/null

args="'provisioner_app', 'on', ''"
# One lane's verdicts: complete_verifications as VerificationQueue.complete calls it, for the
# tenants whose id's last byte is LANE modulo LANES (VerificationCompleter.lanes).
verdicts() { # LANES LANE
	printf '%s\n' '\echo verdict'
	echo "SELECT complete_verifications($args, array_agg(id ORDER BY tenant_id, id),
		array_agg(verification_version ORDER BY tenant_id, id), array_agg('verified'::text ORDER BY tenant_id, id),
		array_agg('[]'::jsonb ORDER BY tenant_id, id), array_agg(coalesce(uri_set_version, 0) ORDER BY tenant_id, id))
	FROM claimed WHERE get_byte(uuid_send(tenant_id), 15) % $1 = $2;"
}
script="$(mktemp)"
trap 'rm -f "$script"; bench_cleanup' EXIT
{
	printf '%s\n' '\timing on'
	for _ in $(seq 1 $(((N + BATCH - 1) / BATCH))); do
		printf '%s\n' '\echo claim'
		# The worker's byte budget of a claim: VerificationQueue.defaultMaxBatchBytes, 16 MiB.
		echo "CREATE TEMP TABLE claimed AS SELECT * FROM claim_verifications($args, $BATCH, 16777216, 30000, 'bench-queue-cost');"
		# As the worker splits a batch (WorkerConfiguration): a lane for each 400 of its
		# tenants, at most 2.
		printf '%s\n' '\timing off' "SELECT count(DISTINCT tenant_id) >= 800 AS two_lanes FROM claimed \gset" '\timing on' '\if :two_lanes'
		verdicts 2 0
		verdicts 2 1
		printf '%s\n' '\else'
		verdicts 1 0
		printf '%s\n' '\endif'
		echo 'DROP TABLE claimed;'
	done
} >"$script"

out="$(psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -f "$script")"
verified="$(psql "$DATABASE_URL" -X -At -c "SELECT count(*) FROM credentials WHERE state IN ('verified', 'superseded')")"
[ "$verified" -eq "$N" ] || { echo "queue-cost: $verified of $N uploads have a verdict" >&2; exit 1; }
awk -v n="$N" -v tenants="$TENANTS" -v batch="$BATCH" -v cores="$(nproc)" '
	/^(claim|verdict)$/ { step = $1; next }
	/^Time: / && step != "" {
		ms[step] += $2
		if (step == "claim") { batches++; line[batches] = sprintf("batch %d: claim %.1f ms, verdicts", batches, $2) }
		else { line[batches] = line[batches] sprintf(" %.1f", $2) }
		step = ""
	}
	END {
		for (b = 1; b <= batches; b++) print line[b] " ms"
		claim = ms["claim"] * 1000 / n; verdict = ms["verdict"] * 1000 / n
		printf "%d uploads over %d tenants, batches of %d: claim %.1f us, verdict %.1f us, together %.1f us of PostgreSQL time per upload\n", n, tenants, batch, claim, verdict, claim + verdict
		printf "at most %.0f verifications/s on %d cores with nothing else running\n", cores * 1e6 / (claim + verdict), cores
		printf "RESULT queue_claim_us=%.1f us\nRESULT queue_verdict_us=%.1f us\nRESULT queue_bound=%.0f verifications/s\n", claim, verdict, cores * 1e6 / (claim + verdict)
	}' <<<"$out"
