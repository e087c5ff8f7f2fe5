#!/usr/bin/env bash
# bench/run-all.sh (`make bench`): every benchmark, then one table of their figures.
#
# Builds the release binaries once (or takes $BIN_DIR), then runs bench/drain.sh,
# bench/queue-cost.sh, bench/latency.sh, bench/client-latency.sh, bench/queue-vs-pgqueuer.sh (which installs PgQueuer
# from PyPI into .local/pgqueuer-venv the first time), bench/webhooks.sh, bench/pooler-capacity.sh and every bench/dashboard-*.sh (not the
# *-seed.sh helpers), one after the other, each with its own defaults (BENCH_QUICK=1: smaller
# runs, for a smoke test). A script reports figures as `RESULT name=value unit` lines; its
# whole output goes to .local/bench/NAME.log. Exits non-zero if any script failed (the table
# still prints).
set -euo pipefail

LOG_TAG=bench
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/../scripts/lib.sh"
cd "$REPO_ROOT"

bootstrap
if [ -z "${BIN_DIR:-}" ]; then
	log "swift build -c release (provisioner, provisioner-bench)"
	swift build -c release --product provisioner >&2 || die "release build of provisioner failed"
	swift build -c release --product provisioner-bench >&2 || die "release build of provisioner-bench failed"
	BIN_DIR="$(swift build -c release --show-bin-path)"
fi
export BIN_DIR

scripts=(bench/drain.sh bench/queue-cost.sh bench/latency.sh bench/client-latency.sh bench/queue-vs-pgqueuer.sh bench/webhooks.sh bench/pooler-capacity.sh)
for script in bench/dashboard-*.sh; do
	case "$script" in *-seed.sh | *'*'*) continue ;; esac
	scripts+=("$script")
done
declare -A quick_args=([bench/drain.sh]="5000 200" [bench/queue-cost.sh]="5000 200" [bench/latency.sh]="50 10 5" [bench/client-latency.sh]="50 50"
	[bench/queue-vs-pgqueuer.sh]="5000 5x100" [bench/webhooks.sh]="2000 400 50" [bench/pooler-capacity.sh]="2000 8")

out=.local/bench
mkdir -p "$out"
results="$out/results.txt"
: >"$results"
failed=()
for script in "${scripts[@]}"; do
	name="$(basename "$script" .sh)"
	args=()
	if [ "${BENCH_QUICK:-0}" = 1 ] && [ -n "${quick_args[$script]:-}" ]; then
		read -r -a args <<<"${quick_args[$script]}"
	fi
	log "$script ${args[*]} (log $out/$name.log)"
	started=$SECONDS
	if bash "$script" "${args[@]}" >"$out/$name.log" 2>&1; then
		log "$script done in $((SECONDS - started)) s"
	else
		warn "$script failed (exit $?; see $out/$name.log)"
		tail -n 5 "$out/$name.log" >&2 || true
		failed+=("$name")
	fi
	sed -n "s/^RESULT \([^= ]*\)=\([^ ]*\) *\(.*\)$/$name\t\1\t\2\t\3/p" "$out/$name.log" >>"$results"
done

printf '\n%-12s %-28s %14s  %s\n' script figure value unit
printf '%-12s %-28s %14s  %s\n' ------------ ---------------------------- -------------- ----------------
while IFS=$'\t' read -r script figure value unit; do
	printf '%-12s %-28s %14s  %s\n' "$script" "$figure" "$value" "$unit"
done <"$results"
for name in "${failed[@]}"; do printf '%-12s %-28s %14s\n' "$name" "(failed)" "-"; done
[ "${#failed[@]}" -eq 0 ] || die "failed: ${failed[*]}"
